import ArgumentParser
import Foundation
import SafeIO
import Harness
import Results
import TensorCore

/// `patchbench check`: regression against committed golden numbers.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare fresh runs with a committed golden file, or write one from the current runs.",
        discussion: """
            Check mode (default): every entry of the golden file (method, seed, \
            probe, metric, value, tolerance, bitwise) must be found in the runs of \
            the golden's budget. A bitwise entry must match exactly when the \
            float32 GEMM order and the thread count equal the golden's, whatever \
            the CPU; the linear probe's entries (float64 OpenBLAS) fall back to \
            their tolerance when OpenBLAS's kernel differs, and a note says so. \
            Each failure names method/seed/probe/metric, golden, measured and \
            tolerance; missing numbers fail too. Exit status 1 on failure.

            Write mode (--write-golden): writes the golden file from the runs of \
            --budget (eval metrics and the final pretraining loss) and records the \
            environment. Entries already in the file keep their tolerance and \
            bitwise flag. See Documentation/results.md.

            Examples:
              patchbench check --golden results/goldens/smoke.json
              patchbench check --write-golden --budget smoke --golden results/goldens/smoke.json
            """)

    @Option(help: "Golden file to check against (or to write with --write-golden).")
    var golden: String

    @Option(help: "Root of the run directories.")
    var runs: String = "runs"

    @Flag(help: "Write or update the golden file from the current runs instead of checking.")
    var writeGolden = false

    @Option(help: "Budget to take numbers from with --write-golden (default: the only budget in --runs).")
    var budget: String?

    @Option(help: "Absolute tolerance for new eval-metric entries with --write-golden (percentage points).")
    var tolerance: Double = 0.5

    @Option(help: "Absolute tolerance for new final-loss entries with --write-golden.")
    var lossTolerance: Double = 0.01

    @Flag(help: "Mark new entries as not bitwise (tolerance only) with --write-golden.")
    var noBitwise = false

    @Option(help: "Also print the claim verdicts for the golden's budget from this claims registry.")
    var claims: String?

    func validate() throws {
        guard tolerance >= 0, lossTolerance >= 0 else { throw ValidationError("tolerances must be non-negative") }
    }

    func run() throws {
        let collection = try RunCollector.collect(root: runs)
        let coretype = BLAS.requestedCoreType()
        if writeGolden {
            try write(collection: collection, coretype: coretype)
            return
        }
        let goldenFile = try GoldenFile.load(path: golden)
        let environment = GoldenCheck.environment(
            of: collection, budget: goldenFile.budget, openblasCoretype: coretype)
        let report = GoldenCheck.check(goldenFile, against: collection, environment: environment)
        for note in report.notes { print("note: \(note)") }
        for failure in report.failures { print("FAIL: \(failure)") }
        if let claims {
            let claimsFile = try ClaimsLoader.load(path: claims, implemented: Method.implemented)
            for result in ClaimsEvaluator.evaluate(claimsFile, runs: collection, budget: goldenFile.budget)
            where result.evaluation.verdict != .notRun {
                let weak = result.claim.proxy.strength == .weak ? " (on a weak proxy)" : ""
                print("claim \(result.claim.id): \(result.evaluation.verdict.rawValue)\(weak)")
            }
        }
        print("\(report.checkedCount) of \(goldenFile.entries.count) golden numbers found; "
            + "\(report.failures.count) failure(s)")
        // The plain closing line CI runners read: one golden number per check.
        let failed = report.failures.count
        print("golden: \(max(goldenFile.entries.count - failed, 0)) passed, \(failed) failed")
        if !report.passed { throw ExitCode.failure }
    }

    func write(collection: RunCollection, coretype: String?) throws {
        let chosenBudget: String
        if let budget {
            chosenBudget = budget
        } else {
            let budgets = collection.budgets
            guard budgets.count == 1 else {
                throw ValidationError("--runs holds budgets [\(budgets.joined(separator: ", "))]; pass --budget")
            }
            chosenBudget = budgets[0]
        }
        let previous = FileManager.default.fileExists(atPath: golden) ? try GoldenFile.load(path: golden) : nil
        if let previous, previous.budget != chosenBudget {
            throw ValidationError("\(golden) is the golden of budget '\(previous.budget)', not '\(chosenBudget)'")
        }
        let environment = GoldenCheck.environment(of: collection, budget: chosenBudget, openblasCoretype: coretype)
        let file = try GoldenCheck.makeGolden(
            from: collection, budget: chosenBudget, environment: environment, tolerance: tolerance,
            lossTolerance: lossTolerance, bitwise: !noBitwise, previous: previous)
        try AtomicFile.write(file.canonicalText(), to: golden, createFolder: true)
        print("wrote \(golden): \(file.entries.count) entries for budget \(chosenBudget)")
    }
}
