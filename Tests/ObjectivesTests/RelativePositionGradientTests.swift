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
        for kind in [RelativePositionKind.contextualProduct, .table] {
            let config = ViTConfig(imageSize: 12, patchSize: 4, dimension: 8, depth: 1, heads: 2, positionEmbedding: .none)
            var rng = RandomStream(seed: 3)
            let vit = VisionTransformer(config, dtype: .float64, rng: &rng)
            let rpe = RelativePositionBias(kind: kind, encoder: config, dtype: .float64)
            for t in rpe.tables { for i in 0..<t.count { t.storage[i] = rng.nextNormal() * 0.5 } }
            let tokens = random([2, 10, 8], seed: 4)
            let qkvWeight = vit.blocks[0].attn.qkv.weight
            let report = gradCheck([tokens, rpe.tables[0], qkvWeight]) { _ in
                var none: RandomStream? = nil
                return vit.encode(tokens, blockBias: rpe.blockBias(grid: 3), dropPathRNG: &none)
            }
            print("relative position \(kind.rawValue): \(report)")
            #expect(report.maxError < 1e-6)
        }
    }
}
