import Foundation
import Testing

/// Every subcommand's `--help`, compared with the committed text in HelpSnapshots/ (the
/// argument-parser snapshot style): a change of options or wording shows up in review. After an
/// intended change, rerun with PATCHBENCH_UPDATE_HELP=1 to rewrite the snapshots.
@Suite struct HelpSnapshotTests {
    static let commands = ["", "info", "bench", "convert", "inspect", "make-default", "pretrain", "features", "eval",
                           "coco-eval", "speed", "claims", "tables", "check", "methods"]
    static let folder = HarnessFixtures.root + "/Tests/HarnessTests/HelpSnapshots"

    func help(_ command: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: KillResumeTests.executable!)
        p.arguments = (command.isEmpty ? [] : [command]) + ["--help"]
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "80"
        p.environment = environment
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(command) --help exited \(p.terminationStatus)")
        return String(decoding: data, as: UTF8.self)
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func everyHelpMatchesItsSnapshot() throws {
        let update = ProcessInfo.processInfo.environment["PATCHBENCH_UPDATE_HELP"] == "1"
        try FileManager.default.createDirectory(atPath: Self.folder, withIntermediateDirectories: true)
        for command in Self.commands {
            let text = try help(command)
            let path = Self.folder + "/\(command.isEmpty ? "patchbench" : command).txt"
            if update { try text.write(toFile: path, atomically: true, encoding: .utf8); continue }
            let expected = try? String(contentsOfFile: path, encoding: .utf8)
            #expect(text == expected, "\(command) --help differs from \(path); rerun with PATCHBENCH_UPDATE_HELP=1 if intended")
            // Prose is wrapped by the parser (paragraphs are one logical line in the source), so no
            // line but the one-line usage synopsis runs past the 80 columns.
            for line in text.split(separator: "\n") where !line.hasPrefix("USAGE:") {
                #expect(line.count <= 80, "\(command): a \(line.count)-character line: \(line)")
            }
        }
    }
}
