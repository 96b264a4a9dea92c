import Testing
import TensorCore
import TestSupport

/// The fine-tuning loss: label-smoothing cross-entropy (timm's LabelSmoothingCrossEntropy).
@Suite struct LabelSmoothingTests {
    @Test func gradientMatchesCentralDifferences() {
        let z = randomTensor([4, 5], seed: 41, scale: 2)
        for epsilon in [0.0, 0.1, 0.5] {
            let r = gradCheck([z]) { $0[0].crossEntropy(labels: [0, 4, 2, 2], smoothing: epsilon) }
            #expect(r.maxError < 1e-6, "ε \(epsilon): \(r)")
            #expect(r.checked == 20)
        }
    }

    /// The value is timm's formula, (1 − ε)·NLL + ε·mean(−log p), i.e. the soft-target loss
    /// with (1 − ε)·onehot + ε/C; ε = 0 is the plain cross-entropy.
    @Test func valueIsTimmsFormula() {
        let z = randomTensor([3, 4], seed: 42, requiresGrad: false)
        let labels = [1, 3, 0], epsilon = 0.1
        let smoothed = z.crossEntropy(labels: labels, smoothing: epsilon).item
        let logp = z.logSoftmax().doubles
        var expected = 0.0
        for i in 0..<3 {
            let row = logp[(i * 4)..<(i * 4 + 4)]
            expected += (1 - epsilon) * -logp[i * 4 + labels[i]] + epsilon * -row.reduce(0, +) / 4
        }
        expected /= 3
        #expect(abs(smoothed - expected) < 1e-12, "\(smoothed) vs \(expected)")
        let target = Tensor((0..<12).map { k in (k % 4 == labels[k / 4] ? 1 - epsilon : 0) + epsilon / 4 },
                            shape: [3, 4], dtype: .float64)
        #expect(abs(z.crossEntropy(softTargets: target).item - smoothed) < 1e-12)
        #expect(z.crossEntropy(labels: labels, smoothing: 0).item == z.crossEntropy(labels: labels).item)
    }
}
