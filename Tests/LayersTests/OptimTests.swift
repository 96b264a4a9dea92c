import Foundation
import Testing
import Layers
import Optim
import TensorCore

/// Schedules, clipping and SGD against their reference formulas.
@Suite struct OptimTests {
    @Test func cosineScheduleMatchesDINOsCosineScheduler() {
        // dino/utils.py cosine_scheduler: warm-up linspace(start, base, warmup) then
        // final + 0.5 (base − final)(1 + cos(π i / len(iters))) over the remaining steps.
        let s = CosineSchedule(base: 1.0, final: 0.1, totalSteps: 10, warmupSteps: 4, warmupStart: 0)
        let v = s.values
        #expect(v.count == 10)
        #expect(v[0] == 0 && abs(v[2] - 0.5) < 1e-12 && v[4] == 1.0)
        for i in 4..<10 {
            let expected = 0.1 + 0.5 * 0.9 * (1 + cos(Double.pi * Double(i - 4) / 6))
            #expect(abs(v[i] - expected) < 1e-12)
        }
        #expect(s.value(at: 100) == s.value(at: 10))
    }

    @Test func globalNormClippingMatchesTorch() {
        let a = Tensor([3, 0], shape: [2], requiresGrad: true), b = Tensor([4], shape: [1], requiresGrad: true)
        (a.sum() + b.sum()).backward()
        // Gradients are [1, 1] and [1]: norm √3; clip to 1 → each scaled by 1/(√3 + 1e-6).
        let norm = GradientClipping.clipGlobalNorm([a, b], maxNorm: 1)
        #expect(abs(norm - 3.0.squareRoot()) < 1e-6)
        let scale = 1 / (3.0.squareRoot() + 1e-6)
        #expect(abs(a.grad![0] - scale) < 1e-6 && abs(b.grad![0] - scale) < 1e-6)
        GradientClipping.clipPerTensor([a], clip: 0.1)
        let na = (a.grad![0] * a.grad![0] + a.grad![1] * a.grad![1]).squareRoot()
        #expect(abs(na - 0.1) < 1e-5)
    }

    @Test func sgdMomentumMatchesPyTorchsUpdate() {
        let p = Tensor([1.0, -2.0], shape: [2], dtype: .float64, requiresGrad: true)
        let sgd = SGD(momentum: 0.9)
        var buffers = sgd.initialState(for: [("p", p)])
        for _ in 0..<2 {
            p.zeroGrad()
            (p * p).sum().backward()  // g = 2p
            buffers = sgd.step([("p", p)], buffers: buffers, learningRate: 0.1, weightDecay: 0.01)
        }
        // By hand: g0 = 2p0 + 0.01p0; b0 = g0; p1 = p0 − 0.1 b0; g1 = 2p1 + 0.01p1; b1 = 0.9 b0 + g1.
        var x = 1.0, b = 0.0
        for step in 0..<2 { let g = 2 * x + 0.01 * x; b = step == 0 ? g : 0.9 * b + g; x -= 0.1 * b }
        #expect(abs(p.storage[0] - x) < 1e-12)
    }

    @Test func adamWSkipsDecayOnLowRankTensors() {
        let w = Tensor([1, 1, 1, 1], shape: [2, 2], dtype: .float64, requiresGrad: true)
        let bias = Tensor([1, 1], shape: [2], dtype: .float64, requiresGrad: true)
        let params = [("w", w), ("b", bias)]
        let opt = AdamW()
        var state = opt.initialState(for: params)
        w.accumulateForTest(zeros: true)
        bias.accumulateForTest(zeros: true)
        state = opt.step(params, state: state, learningRate: 0.1, weightDecay: 0.5)
        // Zero gradients: only decoupled weight decay moves w (×(1 − 0.05)); the bias stays.
        #expect(abs(w.storage[0] - 0.95) < 1e-12)
        #expect(bias.storage[0] == 1)
        #expect(state.step == 1)
    }

    @Test func emaBlendsTowardsTheStudent() {
        let t = Tensor([0, 0], shape: [2]), s = Tensor([1, 2], shape: [2])
        let next = EMA.updated(teacher: [t], student: [s], momentum: 0.9)
        #expect(abs(next[0].storage[0] - 0.1) < 1e-7 && abs(next[0].storage[1] - 0.2) < 1e-7)
        #expect(t.storage[0] == 0)  // the old teacher is untouched until the caller applies it
    }
}

private extension Tensor {
    /// Gives a leaf an all-zero gradient (as after a backward whose loss ignores it).
    func accumulateForTest(zeros: Bool) { (self * 0.0).sum().backward() }
}
