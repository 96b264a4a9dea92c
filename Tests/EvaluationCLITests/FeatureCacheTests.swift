import Checkpoint
import Datasets
import Evaluation
import Foundation
import HDF5Kit
import Layers
import Objectives
import TensorCore
import Testing

@Suite struct FeatureCacheTests {
    static func key(encoder: String = "e1", pack: String = "p1") -> FeatureCacheKey {
        FeatureCacheKey(encoderDigest: encoder, packDigest: pack, split: "train", kind: "cls",
                        normalization: ImageNormalization.imagenet.cacheKey)
    }

    @Test func reusedOnlyWhenEveryKeyFieldMatches() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("features.h5")
        let first = ExtractedFeatures(values: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        let second = ExtractedFeatures(values: [9, 8, 7, 6, 5, 4], shape: [3, 2])
        var computed = 0
        let a = try FeatureCache.loadOrCompute(path: path, key: Self.key()) { computed += 1; return first }
        #expect(!a.reused && computed == 1)
        let b = try FeatureCache.loadOrCompute(path: path, key: Self.key()) { computed += 1; return second }
        #expect(b.reused && computed == 1 && b.features == first)
        // Another encoder digest: rebuilt, and the file now holds the new features and key.
        let c = try FeatureCache.loadOrCompute(path: path, key: Self.key(encoder: "e2")) { computed += 1; return second }
        #expect(!c.reused && computed == 2 && c.features == second)
        #expect(try FeatureCache.load(path: path, key: Self.key(encoder: "e2")) == second)
        #expect(try FeatureCache.load(path: path, key: Self.key()) == nil)
        // Another pack digest, split, kind or normalisation: stale too.
        #expect(try FeatureCache.load(path: path, key: Self.key(encoder: "e2", pack: "p2")) == nil)
        var other = Self.key(encoder: "e2")
        other.kind = "mean"
        #expect(try FeatureCache.load(path: path, key: other) == nil)
        other = Self.key(encoder: "e2")
        other.split = "test"
        #expect(try FeatureCache.load(path: path, key: other) == nil)
    }

    @Test func aFileThatIsNotACacheIsNeverOverwritten() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("important.h5")
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try FeatureCache.loadOrCompute(path: path, key: Self.key()) { ExtractedFeatures(values: [1, 2], shape: [1, 2]) }
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains(path))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("not hdf5".utf8))
    }

    /// Through the eval runner: the second run reuses both splits; another encoder or a changed
    /// pack (one pixel) is extracted afresh.
    @Test func evalReusesCachedFeaturesOnlyForTheSameEncoderAndPack() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("pack.h5"), changed = directory.file("changed.h5")
        try SyntheticData.classificationPack(at: pack)
        try SyntheticData.classificationPack(at: changed, perturb: true)
        let checkpoint = directory.file("encoder.h5"), otherCheckpoint = directory.file("other.h5")
        try SyntheticData.encoder(at: checkpoint, seed: 5)
        try SyntheticData.encoder(at: otherCheckpoint, seed: 6)
        func run(_ data: String, _ encoder: String) throws -> [String: Bool] {
            var options = EvalOptions(probe: .knn, dataPath: data, seed: 0)
            options.cacheDirectory = directory.file("cache")
            options.input.encoderDescription = EncoderDescription(method: "test")
            return try EvalProtocol.run(options, source: .checkpoint(path: encoder)).cacheReused
        }
        #expect(try run(pack, checkpoint) == ["train": false, "test": false])
        #expect(try run(pack, checkpoint) == ["train": true, "test": true])
        #expect(try run(pack, otherCheckpoint) == ["train": false, "test": false])
        #expect(try run(changed, checkpoint) == ["train": false, "test": false])
        #expect(try run(changed, checkpoint) == ["train": true, "test": true])
    }

    /// A `cls` request after a last-blocks one (DINO's k-NN after its `lastk:4` linear probe) is
    /// sliced from that cache: bit for bit the features a fresh extraction writes, reported as
    /// reused. Without a CLS token the same holds for `mean`; with one, `mean` is extracted.
    @Test(arguments: [true, false])
    func theFinalBlockIsSlicedFromALastBlocksCache(cls: Bool) throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("pack.h5"), checkpoint = directory.file("encoder.h5")
        try SyntheticData.classificationPack(at: pack)
        let depth = try SyntheticData.encoder(at: checkpoint, seed: 5, cls: cls).config.depth
        func run(_ kind: FeatureKind, cache: String) throws -> EvalOutcome {
            var options = EvalOptions(probe: .knn, dataPath: pack, seed: 0)
            options.kind = kind
            options.cacheDirectory = directory.file(cache)
            options.input.encoderDescription = EncoderDescription(method: "test")
            return try EvalProtocol.run(options, source: .checkpoint(path: checkpoint))
        }
        /// The train split's cached features of `kind` in cache directory `cache`.
        func cached(_ kind: FeatureKind, in cache: String) throws -> ExtractedFeatures {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.file(cache)).sorted()
            let tag = "-train-\(kind.description.replacingOccurrences(of: ":", with: ""))-"
            let name = try #require(names.first { $0.contains(tag) }, "\(names)")
            let file = try HDF5File(openingForReadAt: directory.file("\(cache)/\(name)"))
            defer { file.close() }
            let (values, shape) = try file.read(FeatureCache.featuresDataset, as: Float.self)
            return ExtractedFeatures(values: values, shape: shape)
        }
        #expect(try run(.lastBlocks(depth), cache: "shared").cacheReused == ["train": false, "test": false])
        for kind in [FeatureKind.cls, .mean] {
            let fresh = try run(kind, cache: "fresh-\(kind)"), derived = try run(kind, cache: "shared")
            let sliceable = kind == .cls || !cls
            #expect(derived.cacheReused == ["train": sliceable, "test": sliceable], "\(kind), cls \(cls)")
            #expect(derived.record.metrics == fresh.record.metrics)
            #expect(try cached(kind, in: "shared") == (try cached(kind, in: "fresh-\(kind)")), "\(kind), cls \(cls)")
            if sliceable {
                let blocks = try cached(.lastBlocks(depth), in: "shared")
                #expect(blocks.lastColumns(blocks.dimension / depth) == (try cached(kind, in: "shared")))
            }
        }
    }

    /// Train and test may name the same split: each role's limit names its cache, so a cut test
    /// role never shares a file with the full train role (and neither is reported twice).
    @Test func oneSplitInBothRolesIsCachedPerLimit() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("pack.h5"), checkpoint = directory.file("encoder.h5")
        try SyntheticData.classificationPack(at: pack)
        try SyntheticData.encoder(at: checkpoint, seed: 5)
        func run() throws -> [String: Bool] {
            var options = EvalOptions(probe: .knn, dataPath: pack, seed: 0)
            options.cacheDirectory = directory.file("cache")
            options.input.trainSplit = "train"
            options.input.testSplit = "train"
            options.input.testLimit = 12
            options.input.encoderDescription = EncoderDescription(method: "test")
            return try EvalProtocol.run(options, source: .checkpoint(path: checkpoint)).cacheReused
        }
        #expect(try run() == ["train": false, "test": false])
        #expect(try run() == ["train": true, "test": true])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("cache")).sorted()
        #expect(names.count == 2 && names.contains { $0.contains("-train-cls-") } && names.contains { $0.contains("-train-first12-cls-") },
                "\(names)")
    }

    /// `--holdout`: the two slices of the train split are named by their ranges in the protocol
    /// and cached apart; bad combinations are refused.
    @Test func heldOutSlicesAreNamedByRangeAndCachedApart() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("pack.h5"), checkpoint = directory.file("encoder.h5")
        try SyntheticData.classificationPack(at: pack)
        try SyntheticData.encoder(at: checkpoint, seed: 5)
        var options = EvalOptions(probe: .knn, dataPath: pack, seed: 0)
        options.cacheDirectory = directory.file("cache")
        options.input.holdout = 20
        options.input.encoderDescription = EncoderDescription(method: "test")
        let held = try EvalProtocol.run(options, source: .checkpoint(path: checkpoint)).record
        #expect(held.settings["train_split"] == .string("train[0..<40]") && held.settings["test_split"] == .string("train[40..<60]"))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("cache")).sorted()
        #expect(names.count == 2 && names.contains { $0.contains("-train0-40-") } && names.contains { $0.contains("-train40-60-") },
                "\(names)")
        #expect(held.settings["train_count"] == .integer(40) && held.settings["test_count"] == .integer(20))
        #expect(try EvalProtocol.run(options, source: .checkpoint(path: checkpoint)).cacheReused == ["train": true, "test": true])
        // The held-out slice cannot be combined with a test split, nor be the whole train split.
        options.input.testSplit = "test"
        #expect(throws: EvaluationError.self) { try EvalProtocol.run(options, source: .checkpoint(path: checkpoint)) }
        options.input.testSplit = nil
        options.input.holdout = 60
        #expect(throws: EvaluationError.self) { try EvalProtocol.run(options, source: .checkpoint(path: checkpoint)) }
    }
}

/// LoMaR's encoders compute with their relative-position tables too: two encoders that differ
/// only there must not share a digest (metrics files) or a feature cache.
@Suite struct EncoderDigestTests {
    @Test func relativePositionTablesEnterTheDigest() throws {
        var rng = RandomStream(seed: 3)
        let encoder = VisionTransformer(.tiny32, rng: &rng)
        let first = RelativePositionBias(kind: .contextualProduct, bucketing: .clip(3), encoder: encoder.config)
        let second = RelativePositionBias(kind: .contextualProduct, bucketing: .clip(3), encoder: encoder.config)
        second.tables[2].storage[5] = 0.25
        let plain = EncoderDigest.parameters(of: encoder)
        #expect(EncoderDigest.parameters(of: encoder, relativeBias: nil) == plain)
        let withFirst = EncoderDigest.parameters(of: encoder, relativeBias: first)
        #expect(withFirst != plain)
        #expect(withFirst != EncoderDigest.parameters(of: encoder, relativeBias: second))
        #expect(withFirst == EncoderDigest.parameters(of: encoder, relativeBias: first))
        let table = RelativePositionBias(kind: .table, bucketing: .clip(3), encoder: encoder.config)
        #expect(EncoderDigest.parameters(of: encoder, relativeBias: table) != withFirst)
        let scaled = RelativePositionBias(kind: .contextualProduct, bucketing: .clip(3), query: .scaled, encoder: encoder.config)
        #expect(EncoderDigest.parameters(of: encoder, relativeBias: scaled) != withFirst, "same tables, another query")
    }
}

/// Evaluation rebuilds LoMaR's position term the way the encoder was trained: the query
/// attribute is read back (absent: the official unscaled q), and an unknown value names the file.
@Suite struct RelativePositionQueryAttributeTests {
    @Test func theQueryAttributeIsReadBack() throws {
        let directory = try TemporaryDirectory()
        var rng = RandomStream(seed: 4)
        let encoder = VisionTransformer(ViTConfig(imageSize: 16, patchSize: 4, dimension: 16, depth: 1, heads: 2,
                                                  positionEmbedding: .none), rng: &rng)
        let bias = RelativePositionBias(kind: .contextualProduct, bucketing: .clip(3), encoder: encoder.config)
        let base = [RelativePositionBias.kindAttribute: "contextual_product", RelativePositionBias.bucketsAttribute: "clip:3"]
        for (value, expected) in [(nil, RelativePositionQuery.unscaled), ("scaled", .scaled), ("unscaled", .unscaled)] {
            let path = directory.file("encoder-\(value ?? "absent").h5")
            var attributes = base
            attributes[RelativePositionBias.queryAttribute] = value
            try Checkpoint.saveEncoder(encoder, to: path, attributes: attributes, extraParameters: bias.namedParameters())
            let loaded = try #require(try EncoderSource.checkpoint(path: path).makeRelativeBias(for: encoder))
            #expect(loaded.query == expected && loaded.bucketing == .clip(3), "\(value ?? "absent")")
        }
        let bad = directory.file("encoder-bad.h5")
        var attributes = base
        attributes[RelativePositionBias.queryAttribute] = "halved"
        try Checkpoint.saveEncoder(encoder, to: bad, attributes: attributes, extraParameters: bias.namedParameters())
        #expect { try EncoderSource.checkpoint(path: bad).makeRelativeBias(for: encoder) } throws: {
            "\($0)".contains(bad) && "\($0)".contains("relative_position_query 'halved'")
        }
    }
}
