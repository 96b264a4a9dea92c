import ArgumentParser
import Foundation
import Results

/// `patchbench tables`: results/v<N>/ from the run directories.
struct Tables: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect runs into versioned results tables, provenance, claim verdicts and plots.",
        discussion: """
            Reads every runs/<budget>/<method>/seed<k>/{run.json, eval/<probe>.json, log.jsonl} (schemas in
            Documentation/run-layout.md) and writes results/v<N>/:
              tables/<budget>/<dataset>/<probe>.md  mean ± std over seeds, one row per method
              results.json                           every number, canonical JSON (sorted keys)
              provenance.md, provenance.json         commit, config hash, dataset digest, threads, machine per run
              claims.md                              paired-seed Δ, 95% CI, ratio to reported Δ, verdict per claim
              plots/*.svg                            loss curves per method; measured vs reported Δ per claim
            Without --new-version the latest existing version is rewritten (an error if there is none); with
            --new-version the next version number is created. --version N only guards that N is the latest.
            Older versions are never touched. Output is byte-identical for identical inputs.
            Examples:
              patchbench tables --new-version
              patchbench tables --runs runs --claims results/claims.json --out results
            """)

    @Option(help: "Root of the run directories (runs/<budget>/<method>/seed<k>/).")
    var runs: String = "runs"

    @Option(help: "Path of the claims registry JSON.")
    var claims: String = "results/claims.json"

    @Option(help: "Directory that holds the versions v1, v2, ...")
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
        let claimsFile = try ClaimsLoader.load(path: claims)
        let collection = try RunCollector.collect(root: runs)
        let choice: ResultsVersioning.Choice = newVersion ? .new : (version.map { .specific($0) } ?? .latest)
        let number = try ResultsVersioning.resolve(choice, outDirectory: out)
        let files = ResultsBundle.build(collection: collection, claims: claimsFile, version: number)
        try ResultsVersioning.install(files: files, version: number, outDirectory: out)
        print("wrote \(out)/v\(number): \(files.count) files from \(collection.runs.count) runs "
            + "(\(collection.skipped.count) skipped)")
    }
}
