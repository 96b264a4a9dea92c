import Layers
import Objectives
import TensorCore
import Testing
import TestSupport

/// Central-difference checks (Double) of what LoMaR added to the engine: attention with a
/// per-batch bias [B, H, N, N], and the contextual relative-position bias through a block.
@Suite struct RelativePositionGradientTests {
    func random(_ shape: [Int], seed: UInt64, scale: Double = 1) -> Tensor {
        var rng = RandomStream(seed: seed)
        return Tensor((0..<shape.reduce(1, *)).map { _ in rng.nextNormal() * scale }, shape: shape, dtype: .float64,
                      requiresGrad: true)
    }

    @Test func selfAttentionWithPerBatchBias() {
        let qkv = random([2, 5, 12], seed: 1), bias = random([2, 2, 5, 5], seed: 2, scale: 0.5)
        let report = gradCheck([qkv, bias]) { Tensor.selfAttention(qkv: $0[0], heads: 2, bias: $0[1]) }
        print("selfAttention [B,H,N,N] bias: \(report)")
        #expect(report.maxError < 1e-6)
    }

    @Test func contextualBiasThroughTheEncoder() throws {
        let variants: [(RelativePositionKind, RelativePositionQuery)] = [(.contextualProduct, .unscaled), (.contextualProduct, .scaled),
                                                                          (.table, .unscaled)]
        for (kind, query) in variants {
            let config = ViTConfig(imageSize: 12, patchSize: 4, dimension: 8, depth: 1, heads: 2, positionEmbedding: .none)
            var rng = RandomStream(seed: 3)
            let vit = VisionTransformer(config, dtype: .float64, rng: &rng)
            let rpe = RelativePositionBias(kind: kind, query: query, encoder: config, dtype: .float64)
            for t in rpe.tables { for i in 0..<t.count { t.storage[i] = rng.nextNormal() * 0.5 } }
            let tokens = random([2, 10, 8], seed: 4)
            let qkvWeight = vit.blocks[0].attn.qkv.weight
            let report = gradCheck([tokens, rpe.tables[0], qkvWeight]) { _ in
                var none: RandomStream? = nil
                return vit.encode(tokens, blockBias: rpe.blockBias(grid: 3), dropPathRNG: &none)
            }
            print("relative position \(kind.rawValue) \(query.rawValue): \(report)")
            #expect(report.maxError < 1e-6)
        }
    }

    /// iRPE's scaled query (the arm `lomar-scaled-q`) divides the contextual term by √d_h and
    /// nothing else; the table kind has no query to scale.
    @Test func theScaledQueryDividesThePositionTermBySqrtDh() {
        let config = ViTConfig(imageSize: 12, patchSize: 4, dimension: 32, depth: 1, heads: 2, positionEmbedding: .none)
        let unscaled = RelativePositionBias(kind: .contextualProduct, bucketing: .clip(2), encoder: config, dtype: .float64)
        let scaled = RelativePositionBias(kind: .contextualProduct, bucketing: .clip(2), query: .scaled, encoder: config, dtype: .float64)
        var rng = RandomStream(seed: 9)
        for i in 0..<unscaled.tables[0].count { unscaled.tables[0].storage[i] = rng.nextNormal() }
        for i in 0..<scaled.tables[0].count { scaled.tables[0].storage[i] = unscaled.tables[0].storage[i] }
        let qkv = random([2, 10, 96], seed: 10)
        let a = unscaled.bias(block: 0, qkv: qkv, grid: 3), b = scaled.bias(block: 0, qkv: qkv, grid: 3)
        let sqrtDh = Double(32 / 2).squareRoot()
        var largest = 0.0
        for i in 0..<a.count {
            #expect(abs(b.storage[i] * sqrtDh - a.storage[i]) <= 1e-12 * max(1, abs(a.storage[i])))
            largest = max(largest, abs(a.storage[i]))
        }
        #expect(largest > 1, "the check compares non-trivial biases")
    }
}
