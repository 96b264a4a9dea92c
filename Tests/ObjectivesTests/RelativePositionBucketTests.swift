import Layers
import Objectives
import TensorCore
import Testing

/// The offset → bucket mapping: with iRPE's mapping, small pretraining windows leave most of the
/// buckets a full grid uses at zero; the window mapping trains every bucket evaluation reads.
@Suite struct RelativePositionBucketTests {
    /// Share of the full grid's patch pairs whose bucket no pair inside an s×s window reaches.
    func untrainedShare(window s: Int, grid g: Int, mapping: RelativePositionBucketing) -> Double {
        let trained = Set(RelativePositionBuckets.buckets(grid: s, mapping: mapping))
        let full = RelativePositionBuckets.buckets(grid: g, mapping: mapping)
        let t = g * g + 1
        var untrained = 0
        for i in 1..<t { for j in 1..<t where !trained.contains(full[i * t + j]) { untrained += 1 } }
        return Double(untrained) / Double((t - 1) * (t - 1))
    }

    @Test func theWindowMappingTrainsEveryBucketTheFullGridReads() {
        #expect(RelativePositionBucketing.forWindow(7) == .irpe && RelativePositionBucketing.forWindow(5) == .irpe)
        #expect(RelativePositionBucketing.forWindow(4) == .clip(3) && RelativePositionBucketing.forWindow(3) == .clip(2))
        let before8 = untrainedShare(window: 4, grid: 8, mapping: .irpe)
        let before16 = untrainedShare(window: 4, grid: 16, mapping: .irpe)
        print("4×4 windows, iRPE mapping: untrained pairs 8×8 \(before8), 16×16 \(before16)")
        #expect(before8 > 0.5 && before16 > 0.8)
        for g in [8, 16] {
            #expect(untrainedShare(window: 4, grid: g, mapping: .forWindow(4)) == 0)
            // The paper's setting is already complete: 7×7 windows on 14×14.
            #expect(untrainedShare(window: 7, grid: g + 6, mapping: .forWindow(7)) == 0)
        }
        // A 4×4 window reaches all 49 buckets with the clip, 25 with iRPE's mapping.
        #expect(Set(RelativePositionBuckets.buckets(grid: 4, mapping: .clip(3))).count == 49 + 1)
        #expect(Set(RelativePositionBuckets.buckets(grid: 4, mapping: .irpe)).count == 25 + 1)
    }

    @Test func clipKeepsShortOffsetsAndSharesTheLastBucket() {
        let clip = RelativePositionBucketing.clip(3)
        #expect((-6...6).map(clip.index) == [-3, -3, -3, -3, -2, -1, 0, 1, 2, 3, 3, 3, 3])
        #expect((-2...2).map(clip.index) == (-2...2).map(RelativePositionBucketing.irpe.index))
        for text in ["irpe", "clip:0", "clip:3"] { #expect(RelativePositionBucketing(text)?.description == text) }
        for bad in ["clip:4", "clip:-1", "clip", "piecewise"] { #expect(RelativePositionBucketing(bad) == nil) }
    }

    @Test func lomarTrainsAndExportsItsMapping() {
        var config = LoMaR.Config()
        config.windowSize = 4
        var rng = RandomStream(seed: 1)
        let encoder = ViTConfig(imageSize: 32, patchSize: 4, dimension: 16, depth: 1, heads: 2, positionEmbedding: .none)
        let lomar = LoMaR(encoder: encoder, config: config, rng: &rng)
        #expect(lomar.relativePosition.bucketing == .clip(3))
        #expect(lomar.exportedAttributes()[RelativePositionBias.bucketsAttribute] == "clip:3")
        config.buckets = .irpe
        #expect(LoMaR(encoder: encoder, config: config, rng: &rng).exportedAttributes()[RelativePositionBias.bucketsAttribute] == "irpe")
    }
}
