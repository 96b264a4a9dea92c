import ArgumentParser
import Evaluation
import Harness

/// `patchbench eval finetune`'s own options (the budget sizes; everything else of the recipe is
/// fixed, Documentation/evaluation.md "Fine-tuning").
struct FineTuneCLIOptions: ParsableArguments {
    @Option(help: "finetune only: labelled training images, a stratified subset of the train split (default \(FineTuning.Configuration().subsetSize)).")
    var finetuneSubset: Int?

    @Option(help: "finetune only: epochs over the labelled subset (default \(FineTuning.Configuration().epochs)).")
    var finetuneEpochs: Int?

    @Option(help: "finetune only: base learning rate blr; lr = blr * batch / 256 (default \(FineTuning.Configuration().baseLearningRate)).")
    var finetuneBlr: Double?

    @Option(help: "finetune only: write the training state every N steps beside --out (<out>.checkpoint.h5; resumed when present, removed at the end).")
    var checkpointEvery: Int = 50

    func validate() throws {
        if let n = finetuneSubset, n < 1 { throw ValidationError("--finetune-subset must be at least 1") }
        if let n = finetuneEpochs, n < 1 { throw ValidationError("--finetune-epochs must be at least 1") }
        if let r = finetuneBlr, !(r > 0 && r.isFinite) { throw ValidationError("--finetune-blr must be a positive number") }
        if checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
    }

    /// The recipe with the budget sizes asked for.
    var configuration: FineTuning.Configuration {
        var c = FineTuning.Configuration()
        if let n = finetuneSubset { c.subsetSize = n }
        if let n = finetuneEpochs { c.epochs = n }
        if let r = finetuneBlr { c.baseLearningRate = r }
        return c
    }
}
