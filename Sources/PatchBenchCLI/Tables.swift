import ArgumentParser
import Foundation
import Harness
import Results

/// `patchbench tables`: results/v<N>/ from the run directories.
struct Tables: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect one budget's runs into versioned results tables, provenance, claim verdicts and plots.",
        discussion: """
            Reads every runs/<budget>/<method>/seed<k>/ of --budget (run.json,
            eval/*.json, log.jsonl; schemas in Documentation/run-layout.md) and
            runs/speed/<budget>.json (patchbench speed) and writes
            <out>/<budget>/v<N>/:
              tables/<budget>/<dataset>/<probe>.md  mean ± std over seeds
              results.json        every number, canonical JSON (sorted keys)
              provenance.md/.json commit, config hash, dataset digest, threads,
                                  machine, wall time, images seen, FLOPs, RSS
              claims.md           paired-seed Δ, 95% CI, ratio, verdict
              plots/*.svg         loss curves; measured vs reported Δ
            Versions are per budget: a run of one budget never touches another
            budget's results. Without --new-version the budget's latest version
            is rewritten (an error if none exists); --new-version creates latest +
            1 (v1 if none). --version N only guards that N is the latest. Older
            versions are never touched. Identical inputs give byte-identical
            output. Runs whose run.json is missing or has completed = false are
            skipped and listed in provenance.md. A table marks a method's mean ▼
            where it is below its untrained floor's (`patchbench methods` lists the
            floors), as configs/budgets/<budget>.json resolves the methods; without
            that file nothing is marked and a warning says so. See
            Documentation/results.md.

            Examples:
              patchbench tables --budget tiny --new-version
              patchbench tables --budget smoke --runs .smoke-runs --out /tmp/results
            """)

    @Option(help: "The budget whose runs this version holds (runs/<budget>/).")
    var budget: String

    @Option(help: "Root of the run directories (runs/<budget>/<method>/seed<k>/).")
    var runs: String = "runs"

    @Option(help: "Path of the claims registry JSON.")
    var claims: String = "results/claims.json"

    @Option(help: "Directory that holds <budget>/v1, <budget>/v2, ...")
    var out: String = "results"

    @Option(help: "Rewrite version N; it must be the latest existing version.")
    var version: Int?

    @Flag(help: "Create a new version (latest + 1, or v1) instead of rewriting the latest.")
    var newVersion = false

    func validate() throws {
        if version != nil && newVersion {
            throw ValidationError("--version and --new-version exclude each other")
        }
        if let version, version < 1 { throw ValidationError("--version must be at least 1") }
    }

    func run() throws {
        let claimsFile = try ClaimsLoader.load(path: Checkout.resolve(claims), implemented: Method.implemented)
        let collection = try RunCollector.collect(root: runs, budget: budget)
        guard !collection.runs.isEmpty || !collection.skipped.isEmpty else {
            throw CommandFailure("\(runs)/\(budget): no runs of budget '\(budget)' to collect")
        }
        let folder = ResultsVersioning.budgetDirectory(out: out, budget: budget)
        let choice: ResultsVersioning.Choice = newVersion ? .new : (version.map { .specific($0) } ?? .latest)
        let number = try ResultsVersioning.resolve(choice, outDirectory: folder)
        // Each row is marked against its own floor, as the budget resolves the methods' encoders.
        // A budget trained from a file outside configs/budgets has no file here: no marks then.
        // A budget file that is here but does not load is an error, as everywhere else.
        let floors: [String: String]
        if let found = try Method.floors(budgetFile: budget) {
            floors = found
        } else {
            FileHandle.standardError.write(Data(("warning: \(Budget.path(for: budget)): no such budget file; "
                + "the tables mark no row against a floor (▼)\n").utf8))
            floors = [:]
        }
        let files = ResultsBundle.build(collection: collection, claims: claimsFile, version: number, floors: floors)
        try ResultsVersioning.install(files: files, version: number, outDirectory: folder)
        print("wrote \(folder)/v\(number): \(files.count) files from \(collection.runs.count) runs "
            + "(\(collection.skipped.count) skipped)")
    }
}
