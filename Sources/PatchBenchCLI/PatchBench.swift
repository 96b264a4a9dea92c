import ArgumentParser
import Foundation
import Harness

/// The `patchbench` command: one file per subcommand, registered here.
@main
struct PatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchbench",
        abstract: "Reproducibility benchmark for patch-level self-supervised ViT pretraining.",
        discussion: """
            Data flow: make-default/convert -> pretrain -> eval -> tables -> check. See README.md. \
            Commands that compute take --threads; results are bit-identical for any thread \
            count and depend only on the OpenBLAS kernel (see `patchbench info`).
            """,
        version: Provenance.versionText,
        subcommands: [Info.self, Bench.self, Convert.self, Inspect.self, MakeDefault.self, Pretrain.self, Features.self,
                      Eval.self, CocoEval.self, Speed.self, Claims.self, Tables.self, Check.self, Methods.self])

    /// argument-parser reports a missing required option before an unknown one, so `--methd mae`
    /// would say "Missing expected argument '--method'": when parsing fails and an argument is not
    /// an option of its subcommand, that is what is reported (exit 64), with the closest option.
    static func main() {
        let command: ParsableCommand
        do { command = try parseAsRoot() } catch {
            if let message = unknownOption(Array(CommandLine.arguments.dropFirst())) {
                FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
                Foundation.exit(64)
            }
            exit(withError: error)
        }
        do {
            var runnable = command
            try runnable.run()
        } catch { exit(withError: error) }
    }

    /// "unknown option '--x' …" for the first long option that the subcommand does not have.
    static func unknownOption(_ arguments: [String]) -> String? {
        guard let name = arguments.first,
              let sub = configuration.subcommands.first(where: { $0._commandName == name }) else { return nil }
        let help = sub.helpMessage(columns: 1000)
        let known = Set(help.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "-") })
            .filter { $0.hasPrefix("--") }.map(String.init) + ["--help", "--version"])
        for argument in arguments.dropFirst() {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            let option = String(argument.split(separator: "=", maxSplits: 1)[0])
            if known.contains(option) { continue }
            let closest = known.min { distance(option, $0) < distance(option, $1) }
            let hint = closest.map { distance(option, $0) <= 2 ? " (did you mean '\($0)'?)" : "" } ?? ""
            return "unknown option '\(option)' for 'patchbench \(name)'\(hint); see 'patchbench \(name) --help'"
        }
        return nil
    }

    /// Levenshtein distance (option names are short).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
