import Datasets
import Evaluation
import Foundation
import Layers
import Optim
import Results
import TensorCore
import Testing

/// `patchbench eval finetune`: it learns, it is deterministic, a stopped run resumes
/// bit-identical, and its parameter groups follow MAE's layer-wise decay rule.
@Suite struct FineTuningTests {
    /// The synthetic pack (3 colour classes, 60 train / 30 test, 8 px) trained hard enough to fit.
    static func options(pack: String, seed: UInt64 = 3) -> FineTuneOptions {
        var options = FineTuneOptions(dataPath: pack, seed: seed)
        options.configuration.subsetSize = 48
        options.configuration.epochs = 12
        options.configuration.batchSize = 12
        options.configuration.baseLearningRate = 0.05
        options.configuration.warmupEpochs = 2
        return options
    }

    @Test func learnsTheTinyFixture() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        let outcome = try FineTuneProtocol.run(Self.options(pack: pack), source: .randomInit(config: SyntheticData.config(), seed: 3),
                                               checkpoint: nil)
        let record = outcome.record
        #expect(record.probe == "finetune")
        #expect(Set(record.metrics.keys) == ["top1", "train_top1"])
        // 3 classes: chance is 33 %. The colour classes are easy once the encoder trains.
        #expect(record.metrics["train_top1"]! >= 90, "train top-1 \(record.metrics["train_top1"]!)")
        #expect(record.metrics["top1"]! >= 80, "test top-1 \(record.metrics["top1"]!)")
        #expect(record.settings["labelled_count"] == .integer(48))
        #expect(record.settings["steps"] == .integer(48))
        for key in ["subset_size", "epochs", "batch_size", "learning_rate", "layer_decay", "drop_path", "label_smoothing",
                    "warmup_epochs", "augmentation", "finetuned_digest", "encoder_digest", "seed"] {
            #expect(record.settings[key] != nil, "protocol lacks \(key)")
        }
        // The Results side reads the file.
        let path = directory.file("finetune.json")
        try record.write(toDirectory: directory.path)
        let collected = try RunFileReader.readMetrics(path)
        #expect(collected.probe == "finetune" && collected.metrics == record.metrics)
    }

    /// `--holdout`: the last N train images are scored instead of the test split and the
    /// labelled subset comes from the rest, so a recipe can be chosen without the test split.
    @Test func holdoutScoresTheEndOfTheTrainSplit() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        var options = Self.options(pack: pack)
        options.input.holdout = 12
        let record = try FineTuneProtocol.run(options, source: .randomInit(config: SyntheticData.config(), seed: 3),
                                              checkpoint: nil).record
        #expect(record.settings["test_split"] == .string("train[48..<60]"))
        #expect(record.settings["train_count"] == .integer(48) && record.settings["test_count"] == .integer(12))
        #expect(record.settings["labelled_count"] == .integer(48))
        #expect(record.settings["train_split"] == .string("train[0..<48]"))
        #expect(record.settings["subset"] == .string("the last 12 train images held out and scored instead of the test split"))
        #expect(record.metrics["top1"]! >= 75, "held-out top-1 \(record.metrics["top1"]!)")
        // The whole split cannot be held out: nothing would be left to train on.
        options.input.holdout = 60
        #expect(throws: EvaluationError.self) {
            try FineTuneProtocol.run(options, source: .randomInit(config: SyntheticData.config(), seed: 3), checkpoint: nil)
        }
    }

    /// The train labels permuted (the images keep their colours): the same recipe can only
    /// memorise, so the test top-1 cannot rise above chance (33 %; 30 test images, so ±9 points)
    /// by more than noise (a permutation can also push it below: 6.7 % here).
    @Test func shuffledTrainLabelsGiveNoMoreThanChance() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("shuffled.h5")
        try SyntheticData.classificationPack(at: pack, shuffleTrainLabels: true)
        let record = try FineTuneProtocol.run(Self.options(pack: pack), source: .randomInit(config: SyntheticData.config(), seed: 3),
                                              checkpoint: nil).record
        print("finetune, shuffled train labels: test top-1 \(record.metrics["top1"]!), train top-1 \(record.metrics["train_top1"]!)")
        #expect(record.metrics["top1"]! < 60, "test top-1 \(record.metrics["top1"]!) with permuted train labels")
    }

    @Test func sameSeedGivesIdenticalBytes() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        let checkpoint = directory.file("encoder.h5")
        try SyntheticData.encoder(at: checkpoint)
        func bytes(seed: UInt64) throws -> Data {
            var options = Self.options(pack: pack, seed: seed)
            options.configuration.epochs = 3
            return try FineTuneProtocol.run(options, source: .checkpoint(path: checkpoint), checkpoint: nil, clock: { 0 })
                .record.encoded()
        }
        let first = try bytes(seed: 7)
        #expect(first == (try bytes(seed: 7)))
        #expect(first != (try bytes(seed: 8)))
    }

    /// Stopped right after the checkpoint of step 14 (what a kill leaves), then run again: it resumes
    /// there and ends with the same bytes as the uninterrupted run (parameters included, through
    /// `finetuned_digest`).
    @Test func stoppedRunResumesBitIdentical() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        let encoder = directory.file("encoder.h5")
        try SyntheticData.encoder(at: encoder)
        var options = Self.options(pack: pack)
        options.configuration.epochs = 5   // 20 steps
        let source = EncoderSource.checkpoint(path: encoder)
        let whole = try FineTuneProtocol.run(options, source: source, checkpoint: (directory.file("a.h5"), 7, nil), clock: { 0 })
        #expect(whole.result.resumedFrom == nil)

        let path = directory.file("b.h5")
        #expect(throws: FineTuning.Stopped(step: 14)) {
            try FineTuneProtocol.run(options, source: source, checkpoint: (path, 7, 14), clock: { 0 })
        }
        #expect(FileManager.default.fileExists(atPath: path))
        let resumed = try FineTuneProtocol.run(options, source: source, checkpoint: (path, 7, nil), clock: { 0 })
        #expect(resumed.result.resumedFrom == 14)
        #expect(try resumed.record.encoded() == whole.record.encoded())

        // A checkpoint of other settings is refused, naming the file.
        var other = options
        other.input.seed = 4
        let error = #expect(throws: EvaluationError.self) {
            try FineTuneProtocol.run(other, source: source, checkpoint: (path, 7, nil), clock: { 0 })
        }
        #expect("\(error!)".contains(path))
    }

    /// Every parameter of the fine-tuning model gets MAE's layer id, lr scale and weight decay:
    /// the table `Scripts/reference/make_lr_decay_fixture.py` wrote from the official
    /// `util/lr_decay.py` for the same tiny ViT (global pool, depth 3, width 24, 2 heads).
    @Test func layerGroupsMatchMAEsParamGroupsLRD() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../LayersTests/Fixtures/mae_lr_decay.json").standardized.path
        guard FileManager.default.fileExists(atPath: fixture) else {
            print("layerGroupsMatchMAEsParamGroupsLRD skipped: \(fixture) is missing (Scripts/reference/make_lr_decay_fixture.py writes it)")
            return
        }
        let table = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture))) as? [String: Any])
        let rows = try #require(table["parameters"] as? [[String: Any]])
        var rng = RandomStream(seed: 1)
        let config = ViTConfig(imageSize: 32, patchSize: 4, dimension: 24, depth: 3, heads: 2, positionEmbedding: .sinCos)
        let model = try FineTuneModel(pretrained: VisionTransformer(config, rng: &rng), relativeBias: nil, classes: 10,
                                      dropPath: 0.1, pooling: .mean, rng: &rng)
        let decay = LayerDecay(depth: 3, decay: try #require(table["layer_decay"] as? Double),
                               weightDecay: try #require(table["weight_decay"] as? Double))
        let ours = decay.assignments(model.namedParameters().map { ($0.0, $0.1.rank) })
        #expect(Set(ours.map(\.name)) == Set(rows.compactMap { $0["name"] as? String }))
        #expect(ours.count == rows.count)
        for row in rows {
            let name = try #require(row["name"] as? String)
            guard let mine = ours.first(where: { $0.name == name }) else { continue }
            #expect(mine.layerID == row["layer_id"] as? Int, "\(name): layer id")
            let scale = try #require(row["lr_scale"] as? Double)
            #expect(abs(mine.learningRateScale - scale) <= 1e-15 * scale, "\(name): lr scale \(mine.learningRateScale) vs \(scale)")
            #expect(mine.weightDecay == row["weight_decay"] as? Double, "\(name): weight decay")
            #expect(mine.group == row["group"] as? String, "\(name): group")
        }
        // MAE's groups are (layer, decay) pairs: 2 per layer 0…4 here.
        #expect(decay.groups(model.namedParameters().map { ($0.0, $0.1.rank) }).count == 10)
    }
}
