import Datasets
import Foundation

/// What every evaluation reads besides its probe's own settings — the frozen probes
/// (`EvalOptions`) and fine-tuning (`FineTuneOptions`) alike: the pack and its splits, the seed,
/// the normalisation, and the encoder block of the metrics file.
public struct EvalInput: Sendable {
    /// The pack (classification for linear/knn/finetune, masks for seg/patch-knn, boxes for det).
    public var dataPath: String
    /// Seeds `RandomStreams(seed).evaluation` (the linear probe's validation split, the dense
    /// heads' shuffling, fine-tuning's subset and head).
    public var seed: UInt64
    /// `imagenet` (default) or `pack-train`.
    public var normalization: String = ImageNormalization.imagenetName
    /// nil: `train`.
    public var trainSplit: String?
    /// nil: `test` when the pack has it, else `val`.
    public var testSplit: String?
    /// Use only the first N images of the train / test split (quick runs such as the smoke
    /// regression); nil = all. Recorded in the protocol.
    public var trainLimit: Int?
    public var testLimit: Int?
    /// Score the last N images of the (limited) train split instead of the test split and fit
    /// on the images before them: for choosing a probe's settings without the test split.
    public var holdout: Int?
    public var encoderDescription = EncoderDescription()

    public init(dataPath: String, seed: UInt64) {
        self.dataPath = dataPath
        self.seed = seed
    }

    /// `all` or e.g. `first 6000 train / 2000 test images` (--train-limit / --test-limit): recorded
    /// in the protocol and shown by every table built from such files.
    public var subsetText: String {
        let held = holdout.map { "the last \($0) train images held out and scored instead of the test split" }
        guard trainLimit != nil || testLimit != nil else { return held ?? "all" }
        return "first " + [trainLimit.map { "\($0) train" } ?? "all train", testLimit.map { "\($0) test" } ?? "all test"]
            .joined(separator: " / ") + " images" + (held.map { "; " + $0 } ?? "")
    }

    /// The pack, the names of the fitting and the scored splits and those splits cut to their
    /// limits. With `holdout` both are slices of the train split, named `train[0..<k]` and
    /// `train[k..<n]` (so their feature caches differ).
    public func openSplits() throws -> (pack: Pack, trainName: String, testName: String, train: PackSplit, test: PackSplit) {
        let pack = try EvalProtocol.openPack(dataPath)
        var trainName = trainSplit ?? "train"
        var train = try pack.split(trainName)
        if let n = trainLimit { train = train.prefix(n) }
        if let held = holdout {
            guard testSplit == nil, testLimit == nil else {
                throw EvaluationError.invalidInput("a held-out slice of '\(trainName)' replaces the test split: give no test split or test limit with it")
            }
            guard held >= 1, held < train.count else {
                throw EvaluationError.invalidInput("\(dataPath): cannot hold out \(held) of the \(train.count) images of split "
                                                   + "'\(trainName)'; the held-out slice needs 1 to \(train.count - 1)")
            }
            let kept = train.count - held
            var test = train.rows(Array(kept..<train.count))
            test.name = "\(trainName)[\(kept)..<\(train.count)]"
            train = train.prefix(kept)
            train.name = "\(trainName)[0..<\(kept)]"
            trainName = train.name
            return (pack, trainName, test.name, train, test)
        }
        let testName = testSplit ?? (pack.splitNames.contains("test") ? "test" : "val")
        var test = try pack.split(testName)
        if let n = testLimit { test = test.prefix(n) }
        return (pack, trainName, testName, train, test)
    }

    /// The normalisation asked for (`ImageNormalization.named`); `pack-train` reads `train`.
    public func imageNormalization(train: PackSplit) throws -> ImageNormalization {
        try ImageNormalization.named(normalization) { train }
    }
}
