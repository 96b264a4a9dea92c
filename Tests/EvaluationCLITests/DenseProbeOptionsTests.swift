import Datasets
import Evaluation
import Foundation
import TensorCore
import Testing

/// patch-knn end to end, `--blocks` (grid:lastk:K) in extraction, protocol and cache key, and
/// `--head mlp` through `EvalProtocol`.
@Suite struct DenseProbeOptionsTests {
    @Test func patchKnnRunsOnTheSegPackDeterministically() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("seg.h5")
        try SyntheticData.segmentationPack(at: pack)
        let source = EncoderSource.randomInit(config: SyntheticData.config(), seed: 0)
        func record(seed: UInt64) throws -> MetricsRecord {
            try EvalProtocol.run(EvalOptions(probe: .patchKnn, dataPath: pack, seed: seed), source: source,
                                 clock: { 0 }).record
        }
        let first = try record(seed: 0)
        #expect(first.probe == "patch-knn")
        #expect(Set(first.metrics.keys) == ["mIoU", "aAcc"])
        #expect(first.settings["feature_kind"] == .string("grid"))
        #expect(first.settings["neighbours"] == .integer(5) && first.settings["temperature"] == .number(0.1))
        // 24 train images of 4 x 4 tokens, every patch labelled: all 384 fit under the bank limit.
        #expect(first.settings["bank_size"] == .integer(384) && first.settings["bank_limit"] == .integer(16_384))
        #expect(first.settings["label_rule"] != nil)
        // The halves differ in colour, which even a random encoder's tokens carry: far above chance (33 %).
        #expect(first.metrics["aAcc"]! > 70, "\(first.metrics)")
        #expect(try record(seed: 0).encoded() == first.encoded())
        // Without masks it is an error naming the pack.
        let classification = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: classification)
        do {
            _ = try EvalProtocol.run(EvalOptions(probe: .patchKnn, dataPath: classification, seed: 0), source: source)
            Issue.record("expected an error")
        } catch { #expect("\(error)".contains(classification) && "\(error)".contains("masks")) }
    }

    @Test func blocksChangeTheKindTheProtocolAndTheCacheKey() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("seg.h5")
        try SyntheticData.segmentationPack(at: pack)
        let checkpoint = directory.file("encoder.h5")
        try SyntheticData.encoder(at: checkpoint)
        let cache = directory.file("cache")
        func run(blocks: Int?) throws -> EvalOutcome {
            var options = EvalOptions(probe: .seg, dataPath: pack, seed: 0)
            options.segmentation.epochs = 2
            options.gridBlocks = blocks
            options.cacheDirectory = cache
            return try EvalProtocol.run(options, source: .checkpoint(path: checkpoint), clock: { 0 })
        }
        let last = try run(blocks: nil)
        #expect(last.record.settings["feature_kind"] == .string("grid"))
        #expect(last.record.settings["feature_shape"] == .list([.integer(4), .integer(4), .integer(32)]))
        let two = try run(blocks: 2)
        #expect(two.record.settings["feature_kind"] == .string("grid:lastk:2"))
        #expect(two.record.settings["feature_shape"] == .list([.integer(4), .integer(4), .integer(64)]))
        // Each K has its own cache files: the K = 2 run wrote (did not reuse) its features, and
        // --blocks 1 is the plain grid, which reuses the first run's files.
        #expect(two.cacheReused == ["train": false, "test": false])
        #expect(try run(blocks: 1).cacheReused == ["train": true, "test": true])
        #expect(try run(blocks: 2).cacheReused == ["train": true, "test": true])
        let files = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(files.count == 4)
        #expect(files.filter { $0.contains("-gridlastk2-") }.count == 2)
        // The keys differ in their kind, so a K = 1 cache never answers a K = 2 request.
        let file = (cache as NSString).appendingPathComponent(files.first { $0.contains("-gridlastk2-") && $0.contains("-train-") }!)
        let encoderDigest = EncoderDigest.parameters(of: try EncoderSource.checkpoint(path: checkpoint).makeEncoder()!)
        let packDigest = try Pack(openingAt: pack).storedDigest
        func key(_ kind: FeatureKind) -> FeatureCacheKey {
            FeatureCacheKey(encoderDigest: encoderDigest, packDigest: packDigest, split: "train", kind: kind.description,
                            normalization: ImageNormalization.imagenet.cacheKey)
        }
        #expect(try FeatureCache.load(path: file, key: key(.gridLastBlocks(2))) != nil)
        #expect(try FeatureCache.load(path: file, key: key(.grid)) == nil)
        // --blocks is for the dense probes, and at most the encoder's depth.
        var linear = EvalOptions(probe: .linear, dataPath: pack, seed: 0)
        linear.gridBlocks = 2
        #expect(throws: EvaluationError.self) { try EvalProtocol.run(linear, source: .checkpoint(path: checkpoint)) }
        #expect(throws: EvaluationError.self) { try run(blocks: 3) }
    }

    @Test func gridOfTheLastBlocksConcatenatesEachBlocksNormalisedTokens() throws {
        var rng = RandomStream(seed: 3)
        let directory = try TemporaryDirectory()
        let encoder = try SyntheticData.encoder(at: directory.file("e.h5"))
        let images = SyntheticData.images(labels: [0, 1, 2, 0, 2], side: 16, rng: &rng)
        let extractor = FeatureExtractor(encoder: encoder)
        let kinds: [FeatureKind] = [.grid, .gridLastBlocks(2)]
        let features = try extractor.extract(images: images, count: 5, height: 16, width: 16, channels: 3, kinds: kinds)
        let d = encoder.config.dimension
        #expect(features[0].shape == [5, 4, 4, d] && features[1].shape == [5, 4, 4, 2 * d])
        // The last D channels of every token are the final block's (the plain grid), bit for bit.
        var differs = false
        for token in 0..<(5 * 16) {
            let last = Array(features[1].values[(token * 2 * d + d)..<((token + 1) * 2 * d)])
            #expect(last == Array(features[0].values[(token * d)..<((token + 1) * d)]))
            differs = differs || Array(features[1].values[(token * 2 * d)..<(token * 2 * d + d)]) != last
        }
        #expect(differs)
        #expect(try FeatureKind(parsing: "grid:lastk:3") == .gridLastBlocks(3))
        #expect(try FeatureKind(parsing: "grid:lastk:1") == .grid)
        #expect(FeatureKind.gridLastBlocks(4).description == "grid:lastk:4")
        #expect(throws: EvaluationError.self) { try FeatureKind(parsing: "grid:lastk:0") }
    }

    /// `--head mlp` on seg and det: recorded in the protocol, deterministic; the linear default
    /// records no MLP settings (earlier results keep their protocol) and scores differently.
    @Test(arguments: [EvalProbe.seg, .det])
    func mlpHeadRunsThroughTheProtocolAndIsRecorded(probe: EvalProbe) throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("\(probe.rawValue).h5")
        var options = EvalOptions(probe: probe, dataPath: pack, seed: 0)
        func useHead(_ head: TokenHead) {
            options.segmentation.head = head
            options.detection.head = head
        }
        if probe == .seg {
            try SyntheticData.segmentationPack(at: pack)
            options.segmentation.epochs = 5
        } else {
            try SyntheticData.detectionPack(at: pack)
            options.detection.epochs = 3
        }
        useHead(.mlp(hidden: 16))
        let source = EncoderSource.randomInit(config: SyntheticData.config(), seed: 0)
        let record = try EvalProtocol.run(options, source: source, clock: { 0 }).record
        #expect(record.settings["hidden_channels"] == .integer(16))
        #expect("\(record.settings["head"]!)".contains("MLP"))
        if probe == .seg { #expect(record.metrics["aAcc"]! > 70, "\(record.metrics)") } else { #expect(record.metrics["AP50"] != nil) }
        #expect(try EvalProtocol.run(options, source: source, clock: { 0 }).record.encoded() == record.encoded())
        useHead(.linear)
        let linear = try EvalProtocol.run(options, source: source, clock: { 0 }).record
        #expect(linear.settings["hidden_channels"] == nil)
        #expect(try linear.encoded() != record.encoded())
    }
}
