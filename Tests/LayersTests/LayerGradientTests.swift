import Foundation
import Testing
import TensorCore
import Layers
import TestSupport

/// Every layer against central differences in Double (tolerance 1e-6, see gradCheck):
/// the layer's parameters and its input are all perturbed.
@Suite struct LayerGradientTests {
    func check(_ name: String, _ module: Module, input: Tensor, _ f: @escaping (Tensor) -> Tensor) {
        let inputs = [input] + module.parameters
        let r = gradCheck(inputs) { f($0[0]) }
        #expect(r.maxError < 1e-6, "\(name): \(r)")
    }

    @Test func linearNormMLP() {
        var rng = RandomStream(seed: 1)
        let x = randomTensor([2, 3, 6], seed: 2)
        let lin = Linear(6, 4, dtype: .float64, rng: &rng)
        check("Linear", lin, input: x) { lin($0) }
        let ln = LayerNorm(6, dtype: .float64)
        check("LayerNorm", ln, input: x) { ln($0) }
        let mlp = MLP(6, hidden: 8, dtype: .float64, rng: &rng)
        check("MLP", mlp, input: x) { mlp($0) }
        let head = MLPHead(widths: [6, 5, 3], dtype: .float64, rng: &rng)
        check("MLPHead", head, input: x) { head($0) }
        let wn = WeightNormLinear(6, 7, fixedGain: false, dtype: .float64, rng: &rng)
        check("WeightNormLinear", wn, input: x) { wn($0) }
    }

    @Test func attentionAndBlock() {
        var rng = RandomStream(seed: 3)
        let x = randomTensor([2, 5, 8], seed: 4)
        let attn = SelfAttention(8, heads: 2, dtype: .float64, rng: &rng)
        check("SelfAttention", attn, input: x) { attn($0) }
        let ctx = randomTensor([2, 3, 8], seed: 5, requiresGrad: false)
        let cross = CrossAttention(8, heads: 2, dtype: .float64, rng: &rng)
        check("CrossAttention", cross, input: x) { cross($0, context: ctx) }
        let block = Block(8, heads: 2, dtype: .float64, rng: &rng)
        check("Block", block, input: x) { block($0) }
        // RandSAC's decoder block, with per-sample masks as its block-causal ones are.
        let memory = randomTensor([2, 4, 8], seed: 6, requiresGrad: false)
        let selfMask = Tensor((0..<50).map { i in (i % 5) <= (i / 5) % 5 ? 0 : -Double.infinity }, shape: [2, 5, 5], dtype: .float64)
        let memoryMask = Tensor((0..<40).map { i in (i % 4) <= (i / 4) % 5 ? 0 : -Double.infinity }, shape: [2, 5, 4], dtype: .float64)
        let decoder = DecoderBlock(8, heads: 2, dtype: .float64, rng: &rng)
        check("DecoderBlock", decoder, input: x) { decoder($0, memory: memory, selfMask: selfMask, memoryMask: memoryMask) }
        // Drop-path with a fixed stream: the same samples are dropped in every evaluation.
        let dp = Block(8, heads: 2, dropPath: 0.5, dtype: .float64, rng: &rng)
        check("Block drop-path", dp, input: x) { x in
            var r: RandomStream? = RandomStream(seed: 9)
            return dp(x, dropPathRNG: &r)
        }
    }

    @Test func patchEmbedAndViT() {
        var rng = RandomStream(seed: 6)
        let img = randomTensor([2, 3, 8, 8], seed: 7)
        let pe = PatchEmbed(patch: 4, channels: 3, dimension: 8, dtype: .float64, rng: &rng)
        check("PatchEmbed", pe, input: img) { pe($0) }
        for pos in [ViTConfig.PositionEmbedding.learned, .sinCos, .none] {
            let cfg = ViTConfig(imageSize: 8, patchSize: 4, dimension: 8, depth: 1, heads: 2, positionEmbedding: pos)
            let vit = VisionTransformer(cfg, dtype: .float64, rng: &rng)
            check("ViT \(pos)", vit, input: img) { vit($0) }
        }
        // Position embedding resized to another grid (bicubic map), as for DINO local crops.
        let cfg = ViTConfig(imageSize: 16, patchSize: 4, dimension: 8, depth: 1, heads: 2)
        let vit = VisionTransformer(cfg, dtype: .float64, rng: &rng)
        check("ViT resized positions", vit, input: img) { vit($0) }
    }

    @Test func bicubicMatrixMatchesPyTorchWeights() {
        // Rows must sum to 1; upsampling 2→4 with align_corners=False reproduces torch's
        // weights for output 0: src = −0.25 → taps at −2,−1,0,1 (clamped to 0,0,0,1).
        let m = GridInterpolation.bicubicMatrix(from: 2, to: 4)
        for o in 0..<4 { #expect(abs(m[o * 2] + m[o * 2 + 1] - 1) < 1e-12) }
        let t = 0.75, a = -0.75
        let w3 = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a
        #expect(abs(m[1] - w3) < 1e-12)
    }

    @Test func sinCosMatchesMAEFormula() {
        let v = SinCosPositionEmbedding.values(dimension: 8, grid: 2, clsToken: true)
        #expect(v.count == 5 * 8)
        #expect(v[0..<8].allSatisfy { $0 == 0 })
        // Token (row 1, col 0): first half encodes the column (0): sin 0 = 0, cos 0 = 1.
        let t = Array(v[(1 + 2) * 8..<(1 + 3) * 8])
        #expect(t[0] == 0 && t[1] == 0 && t[2] == 1 && t[3] == 1)
        #expect(abs(t[4] - sin(1.0)) < 1e-15)
    }
}

