import ArgumentParser
import Foundation
import Harness

/// `patchbench pretrain`: one method, one budget, one seed → a run directory.
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pretrain one method under a fixed ViT budget and write its run directory.",
        discussion: """
            Writes runs/<budget>/<method>/seed<seed>/ (or --out): run.json (resolved \
            config, its config_hash, dataset digest, provenance), log.jsonl and \
            log.csv (per logged step: loss and terms, lr, images/s, images seen, \
            FLOPs so far), checkpoints/step-<n>.h5 (latest kept) and, at the end, \
            encoder.h5. See Documentation/harness.md and Documentation/run-layout.md.

            A directory with a checkpoint resumes from it and ends bit-identical to \
            an uninterrupted run (any thread count); a completed one is left alone; \
            one with another config is refused. A non-finite loss stops the run \
            with a message naming the step and the objective; the last good \
            checkpoint stays.

            Methods: \(Method.names) (`patchbench methods` lists them with their \
            readouts and rates). `random-init` writes the untrained encoder drawn \
            from the seed's init stream (0 images seen): the floor every method \
            must beat.

            Budgets: configs/budgets/{smoke,tiny,small,paper}.json (found from any \
            folder), or a path to a budget file.

            Example: patchbench pretrain --method mae --budget tiny --seed 0
            """)

    @Option(help: "Method: \(Method.names).") var method: String
    @Option(help: "Budget name (configs/budgets/<name>.json) or a path to a budget .json file.") var budget: String
    @Option(help: "Seed of every random stream (init, data order, augmentation, masks).") var seed: UInt64 = 0
    @Option(help: "Pack to pretrain on (default: the budget's data.pack, e.g. datasets/default/fashion-mnist.h5).")
    var data: String?
    @Option(help: "Run directory (default runs/<budget>/<method>/seed<seed>).") var out: String?
    @Option(help: ArgumentHelp(stringLiteral: CommonHelp.threads)) var threads: Int = 2
    @Option(help: "Write a checkpoint every N steps (default: the budget's checkpoint_every).") var checkpointEvery: Int?
    @Option(help: "Progress output: auto (bar on a terminal, lines otherwise), bar, lines, quiet.") var progress: String = "auto"

    func validate() throws {
        do { _ = try Method.named(method) } catch { throw ValidationError("\(error)") }
        guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
        if let c = checkpointEvery, c < 1 { throw ValidationError("--checkpoint-every must be ≥ 1") }
        guard ProgressReporter.Mode(rawValue: progress) != nil else {
            throw ValidationError("--progress must be one of auto, bar, lines, quiet")
        }
    }

    func run() throws {
        let budgetPath = Budget.path(for: budget)
        let b = try Budget.load(path: budgetPath)
        let m = try Method.named(method)
        let runPath = out ?? RunDirectory.defaultPath(budget: b.name, method: m.name, seed: seed)
        let options = Pretraining.Options(method: m, budget: b, seed: seed, dataPath: data ?? Checkout.resolve(b.data.pack), runPath: runPath,
                                          threads: threads, checkpointEvery: checkpointEvery,
                                          progress: ProgressReporter.Mode(rawValue: progress)!)
        let outcome = try Pretraining(options).run()
        guard options.progress != .quiet else { return }
        switch outcome {
        case .alreadyComplete: print("\(runPath): already complete; left alone")
        case .completed(let resumed):
            print("\(runPath): complete" + (resumed.map { " (resumed from step \($0))" } ?? ""))
        }
    }
}
