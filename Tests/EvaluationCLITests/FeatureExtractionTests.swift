import Evaluation
import Foundation
import Layers
import TensorCore
import Testing

@Suite struct FeatureExtractionTests {
    static func inputs(count: Int = 7, side: Int = 8) -> [UInt8] {
        var rng = RandomStream(seed: 11)
        return SyntheticData.images(labels: (0..<count).map { Int32($0 % 3) }, side: side, rng: &rng)
    }

    static func encoder(cls: Bool = true) -> VisionTransformer {
        var rng = RandomStream(seed: 4)
        return VisionTransformer(SyntheticData.config(cls: cls), rng: &rng)
    }

    /// The encoder's own output [count, T, D] for the same normalised inputs.
    static func reference(_ encoder: VisionTransformer, _ images: [UInt8], count: Int, side: Int) -> [Float] {
        let input = images.withUnsafeBufferPointer {
            ImageNormalization.imagenet.channelsFirst($0, first: 0, count: count, height: side, width: side, channels: 3)
        }
        return Tensor.withoutGrad { encoder(Tensor(floats: input, shape: [count, 3, side, side])).floats }
    }

    @Test func kindsHaveTheirShapesAndAgree() throws {
        let encoder = Self.encoder()
        let images = Self.inputs()
        // One batch of 7, as the reference pass below, so the comparison can be bit for bit.
        let extractor = FeatureExtractor(encoder: encoder, batchSize: 7)
        let kinds: [FeatureKind] = [.cls, .mean, .lastBlocks(1), .lastBlocks(2), .grid]
        let out = try extractor.extract(images: images, count: 7, height: 8, width: 8, channels: 3, kinds: kinds)
        #expect(out.map(\.shape) == [[7, 32], [7, 32], [7, 32], [7, 64], [7, 2, 2, 32]])
        let (cls, mean, last1, last2, grid) = (out[0], out[1], out[2], out[3], out[4])

        // cls == token 0 of the encoder's output; grid == tokens 1...; bit for bit.
        let tokens = Self.reference(encoder, images, count: 7, side: 8)
        for i in 0..<7 {
            #expect(Array(cls.values[(i * 32)..<((i + 1) * 32)]) == Array(tokens[(i * 5 * 32)..<(i * 5 * 32 + 32)]))
            #expect(Array(grid.values[(i * 4 * 32)..<((i + 1) * 4 * 32)]) == Array(tokens[(i * 5 * 32 + 32)..<((i + 1) * 5 * 32)]))
        }
        // lastk:1 is the final output's CLS; lastk:2 ends with it.
        #expect(last1.values == cls.values)
        for i in 0..<7 {
            #expect(Array(last2.values[(i * 64 + 32)..<((i + 1) * 64)]) == Array(cls.values[(i * 32)..<((i + 1) * 32)]))
            // The first block's part differs from the last one's.
            #expect(Array(last2.values[(i * 64)..<(i * 64 + 32)]) != Array(cls.values[(i * 32)..<((i + 1) * 32)]))
        }
        // mean == mean of the grid over its 4 tokens.
        for i in 0..<7 {
            for j in 0..<32 {
                let average = (0..<4).map { Double(grid.values[(i * 4 + $0) * 32 + j]) }.reduce(0, +) / 4
                #expect(abs(Double(mean.values[i * 32 + j]) - average) < 1e-6)
            }
        }
    }

    @Test func batchSizeDoesNotChangeFeaturesBeyondRounding() throws {
        let encoder = Self.encoder()
        let images = Self.inputs()
        let a = try FeatureExtractor(encoder: encoder, batchSize: 2).extract(images: images, count: 7, height: 8, width: 8,
                                                                             channels: 3, kind: .cls)
        let b = try FeatureExtractor(encoder: encoder, batchSize: 7).extract(images: images, count: 7, height: 8, width: 8,
                                                                             channels: 3, kind: .cls)
        #expect(zip(a.values, b.values).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    /// Progress hears the images done after every batch, ending at the count.
    @Test func progressCountsImagesPerBatch() throws {
        var heard: [Int] = []
        _ = try FeatureExtractor(encoder: Self.encoder(), batchSize: 3)
            .extract(images: Self.inputs(), count: 7, height: 8, width: 8, channels: 3, kind: .cls) { heard.append($0) }
        #expect(heard == [3, 6, 7])
    }

    /// Extraction progress lines: at most one per interval, and always the last.
    @Test func progressLinesAreThrottledButEndOnTheTotal() {
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let slow = Lines(), fast = Lines()
        let hourly = ExtractionProgress(role: "train", total: 7, say: { slow.all.append($0) }, interval: 3600)
        let always = ExtractionProgress(role: "test", total: 7, say: { fast.all.append($0) }, interval: 0)
        for done in [3, 6, 7] { hourly.update(done: done); always.update(done: done) }
        #expect(slow.all.count == 1 && slow.all[0].hasPrefix("features train: 7/7 images (100 %)"), "\(slow.all)")
        #expect(fast.all.count == 3 && fast.all[0].hasPrefix("features test: 3/7 images (43 %)"), "\(fast.all)")
    }

    @Test func encoderWithoutClsPoolsPatchMeans() throws {
        let encoder = Self.encoder(cls: false)
        let images = Self.inputs()
        let out = try FeatureExtractor(encoder: encoder).extract(images: images, count: 7, height: 8, width: 8, channels: 3,
                                                                 kinds: [.cls, .mean, .lastBlocks(1), .grid])
        #expect(out[0].values == out[1].values)
        #expect(out[2].values == out[1].values)
        #expect(out[3].shape == [7, 2, 2, 32])
        #expect(FeatureKind.cls.pooling(encoderHasCls: false).contains("mean"))
    }

    /// The rule by which the feature cache slices a kind from a `lastk` cache holds exactly where
    /// the values agree: `cls` always, `mean` only on an encoder without a CLS token.
    @Test func finalBlockKindsAreTheLastColumnsOfLastBlocks() throws {
        for cls in [true, false] {
            let encoder = Self.encoder(cls: cls)
            let kinds: [FeatureKind] = [.cls, .mean, .lastBlocks(2), .grid]
            let out = try FeatureExtractor(encoder: encoder, batchSize: 7).extract(
                images: Self.inputs(), count: 7, height: 8, width: 8, channels: 3, kinds: kinds)
            let finalBlock = out[2].lastColumns(encoder.config.dimension).values
            for (kind, features) in zip(kinds, out) {
                let sliceable = kind.isFinalBlockOfLastBlocks(encoderHasCls: cls)
                if case .lastBlocks = kind { #expect(!sliceable); continue }
                if case .grid = kind { #expect(!sliceable); continue }
                #expect((features.values == finalBlock) == sliceable, "\(kind) with cls \(cls)")
            }
        }
    }

    @Test func largerImagesGiveALargerGrid() throws {
        let images = Self.inputs(count: 2, side: 16)
        let grid = try FeatureExtractor(encoder: Self.encoder()).extract(images: images, count: 2, height: 16, width: 16,
                                                                         channels: 3, kind: .grid)
        #expect(grid.shape == [2, 4, 4, 32])
        #expect(grid.values.allSatisfy { $0.isFinite })
    }

    @Test func badRequestsThrowClearly() throws {
        let extractor = FeatureExtractor(encoder: Self.encoder())
        let images = Self.inputs()
        #expect(throws: EvaluationError.self) {
            _ = try extractor.extract(images: images, count: 7, height: 8, width: 8, channels: 3, kind: .lastBlocks(3))
        }
        let small = Array(images.prefix(7 * 6 * 6 * 3))
        #expect(throws: EvaluationError.self) {
            _ = try extractor.extract(images: small, count: 7, height: 6, width: 6, channels: 3, kind: .cls)
        }
        #expect(try FeatureKind(parsing: "lastk:4") == .lastBlocks(4))
        #expect(FeatureKind.lastBlocks(4).description == "lastk:4")
        for bad in ["lastk:0", "lastk:", "avg", "CLS"] {
            #expect(throws: EvaluationError.self) { try FeatureKind(parsing: bad) }
        }
    }

    @Test func normalisationMatchesTorchvision() {
        // One pixel of (255, 0, 128) → (1 − m)/s, (0 − m)/s, (128/255 − m)/s per channel, CHW.
        let n = ImageNormalization.imagenet
        let out = [UInt8]([255, 0, 128]).withUnsafeBufferPointer {
            n.channelsFirst($0, first: 0, count: 1, height: 1, width: 1, channels: 3)
        }
        let r: Float = (1 - 0.485) / 0.229
        let g: Float = (0 - 0.456) / 0.224
        let b: Float = (Float(128) / 255 - 0.406) / 0.225
        #expect(out == [r, g, b])
        let stats = ImageNormalization.packStatistics(images: [0, 255, 10, 255, 255, 10], channels: 3)
        #expect(stats.mean[0] == 0.5 && stats.std[0] == 0.5)
        #expect(stats.mean[1] == 1 && stats.std[1] == 1)  // zero std → 1
        #expect(abs(stats.mean[2] - 10 / 255) < 1e-7)
    }
}
