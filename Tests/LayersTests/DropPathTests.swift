import Testing
import Layers
import TensorCore
import TestSupport

/// Drop path (stochastic depth) in `Block`, as fine-tuning uses it: per sample, each residual
/// branch is zeroed with probability p or scaled by 1/(1 − p); off in evaluation mode.
@Suite struct DropPathTests {
    /// Two blocks with the same weights, one with drop path 0.5.
    static func blocks() -> (plain: Block, dropping: Block) {
        var a = RandomStream(seed: 11), b = RandomStream(seed: 11)
        return (Block(8, heads: 2, dtype: .float64, rng: &a), Block(8, heads: 2, dropPath: 0.5, dtype: .float64, rng: &b))
    }

    @Test func evaluationModeIsTheIdentityOfDropPath() {
        let (plain, dropping) = Self.blocks()
        let x = randomTensor([4, 5, 8], seed: 12, requiresGrad: false)
        var none: RandomStream? = nil
        #expect(dropping(x, dropPathRNG: &none).doubles == plain(x).doubles)
        #expect(dropping(x).doubles == plain(x).doubles)
    }

    /// With a fixed stream the mask is fixed: each sample's output is x + s₁·attn + s₂·mlp with
    /// s ∈ {0, 2}, some samples keep a branch and some lose one; the gradient matches central
    /// differences through that mask.
    @Test func trainModeDropsWholeSamplesAndHasTheRightGradient() {
        let (plain, dropping) = Self.blocks()
        let batch = 8
        let x = randomTensor([batch, 5, 8], seed: 13)
        var stream: RandomStream? = RandomStream(seed: 14)
        let out = Tensor.withoutGrad { dropping(x, dropPathRNG: &stream).doubles }
        // Reproduce the draws: per branch, one uniform per sample (attention first, then MLP).
        var replay = RandomStream(seed: 14)
        let attnScale = (0..<batch).map { _ in replay.nextDouble() < 0.5 ? 2.0 : 0 }
        let mlpScale = (0..<batch).map { _ in replay.nextDouble() < 0.5 ? 2.0 : 0 }
        #expect(stream! == replay, "the stream advances by one draw per sample and branch")
        #expect(attnScale.contains(0) && attnScale.contains(2) && mlpScale.contains(0) && mlpScale.contains(2),
                "seed 14 should drop some branches and keep others")
        let expected = Tensor.withoutGrad { () -> [Double] in
            let a = plain.attn(plain.norm1(x)) * Tensor(attnScale, shape: [batch, 1, 1], dtype: .float64)
            let h = x + a
            return (h + plain.mlp(plain.norm2(h)) * Tensor(mlpScale, shape: [batch, 1, 1], dtype: .float64)).doubles
        }
        #expect(maxDifference(out, expected).absolute < 1e-12)
        let report = gradCheck([x] + dropping.parameters) { inputs in
            var fixed: RandomStream? = RandomStream(seed: 14)
            return dropping(inputs[0], dropPathRNG: &fixed)
        }
        #expect(report.maxError < 1e-6, "\(report)")
    }
}
