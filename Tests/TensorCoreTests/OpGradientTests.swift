import Testing
import TensorCore
import TestSupport

/// Every primitive op against central differences in Double (tolerance 1e-6, see gradCheck).
@Suite struct OpGradientTests {
    static let tolerance = 1e-6

    func check(_ name: String, _ inputs: [Tensor], _ f: @escaping ([Tensor]) -> Tensor) {
        let r = gradCheck(inputs, f)
        #expect(r.maxError < Self.tolerance, "\(name): \(r)")
        #expect(r.checked > 0, "\(name): nothing checked")
    }

    @Test func arithmeticWithBroadcasting() {
        let a = randomTensor([2, 3, 4], seed: 1), b = randomTensor([3, 4], seed: 2), c = randomTensor([4], seed: 3)
        let d = randomTensor([2, 1, 4], seed: 4)
        check("add", [a, b]) { $0[0] + $0[1] }
        check("sub", [a, c]) { $0[0] - $0[1] }
        check("mul", [a, d]) { $0[0] * $0[1] }
        let pos = Tensor((0..<12).map { 1.5 + Double($0) * 0.1 }, shape: [3, 4], dtype: .float64, requiresGrad: true)
        check("div", [a, pos]) { $0[0] / $0[1] }
        check("affine", [a]) { $0[0] * 3.0 - 1.0 }
    }

    @Test func reductionsAndShapes() {
        let a = randomTensor([2, 3, 4], seed: 5)
        check("sum axes", [a]) { $0[0].sum(axes: [0, 2]) }
        check("mean keepdims", [a]) { $0[0].mean(axes: [-1], keepDims: true) }
        check("sum all", [a]) { $0[0].sum() }
        check("reshape", [a]) { $0[0].reshaped([6, -1]) }
        check("permute", [a]) { $0[0].permuted([2, 0, 1]) }
        check("transpose", [a]) { $0[0].transposed(0, 2) }
        let b = randomTensor([2, 5, 4], seed: 6)
        check("concat", [a, b]) { Tensor.concat([$0[0], $0[1]], axis: 1) }
        check("slice", [b]) { $0[0].slice(axis: 1, 1..<4) }
        check("split", [b]) { let p = $0[0].split([2, 3], axis: 1); return p[0].sum() * p[1].sum() }
    }

    @Test func gatherScatter() {
        let x = randomTensor([2, 5, 3], seed: 7)
        check("gatherTokens", [x]) { $0[0].gatherTokens([[4, 0, 4], [1, 2, 3]]) }
        let y = randomTensor([2, 2, 3], seed: 8)
        check("scatterTokens", [y]) { $0[0].scatterTokens([[1, 3], [0, 4]], tokenCount: 5) }
        check("gatherRows", [x]) { $0[0].gatherRows([1, 1, 0]) }
    }

    @Test func unaryOps() {
        let a = randomTensor([3, 7], seed: 9)
        // Keep inputs away from relu/leaky-relu kinks so central differences are valid.
        let awayFromZero = Tensor(a.doubles.map { $0 + ($0 >= 0 ? 0.1 : -0.1) }, shape: [3, 7], dtype: .float64, requiresGrad: true)
        let positive = Tensor(a.doubles.map { abs($0) + 0.5 }, shape: [3, 7], dtype: .float64, requiresGrad: true)
        check("exp", [a]) { $0[0].exp() }
        check("log", [positive]) { $0[0].log() }
        check("sqrt", [positive]) { $0[0].sqrt() }
        check("square", [a]) { $0[0].square() }
        check("tanh", [a]) { $0[0].tanh() }
        check("sigmoid", [a]) { $0[0].sigmoid() }
        check("relu", [awayFromZero]) { $0[0].relu() }
        check("leakyRelu", [awayFromZero]) { $0[0].leakyRelu(slope: 0.2) }
        check("gelu erf", [a]) { $0[0].gelu() }
        check("gelu tanh", [a]) { $0[0].gelu(approximate: true) }
        check("clampMin", [awayFromZero]) { $0[0].clampMin(0) }
    }

    @Test func softmaxLayerNormLinearMatmul() {
        let a = randomTensor([4, 6], seed: 10)
        check("softmax", [a]) { $0[0].softmax() }
        check("logSoftmax", [a]) { $0[0].logSoftmax() }
        let x = randomTensor([2, 3, 8], seed: 11), w = randomTensor([8], seed: 12), b = randomTensor([8], seed: 13)
        check("layerNorm", [x, w, b]) { $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-6) }
        let lw = randomTensor([5, 8], seed: 14), lb = randomTensor([5], seed: 15)
        check("linear", [x, lw, lb]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
        check("linear no bias", [x, lw]) { $0[0].linear(weight: $0[1], bias: nil) }
        let m1 = randomTensor([2, 3, 4], seed: 16), m2 = randomTensor([2, 4, 5], seed: 17), m3 = randomTensor([5, 4], seed: 18)
        check("bmm", [m1, m2]) { Tensor.matmul($0[0], $0[1]) }
        check("bmm Bᵀ shared", [m1, m3]) { Tensor.matmul($0[0], $0[1], transposeB: true) }
        let m4 = randomTensor([2, 4, 3], seed: 19)
        check("bmm Aᵀ", [m4, m2]) { Tensor.matmul($0[0], $0[1], transposeA: true) }
        let m5 = randomTensor([2, 5, 4], seed: 20)
        check("bmm AᵀBᵀ", [m4, m5]) { Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
    }

    @Test func attention() {
        let qkv = randomTensor([2, 5, 3 * 8], seed: 21)
        let bias = randomTensor([2, 5, 5], seed: 22, scale: 0.5)
        var maskValues = [Double](repeating: 0, count: 2 * 5 * 5)
        for b in 0..<2 { for i in 0..<5 { maskValues[b * 25 + i * 5 + (i + b) % 5] = -1e9 } }
        let mask = Tensor(maskValues, shape: [2, 5, 5], dtype: .float64)
        check("selfAttention", [qkv]) { Tensor.selfAttention(qkv: $0[0], heads: 2) }
        check("selfAttention bias+mask", [qkv, bias]) { Tensor.selfAttention(qkv: $0[0], heads: 2, bias: $0[1], mask: mask) }
        let q = randomTensor([2, 3, 8], seed: 23), k = randomTensor([2, 5, 8], seed: 24), v = randomTensor([2, 5, 8], seed: 25)
        check("crossAttention", [q, k, v]) { Tensor.attention(query: $0[0], key: $0[1], value: $0[2], heads: 4) }
    }

    @Test func attentionMatchesComposedOps() {
        // The fused kernel against the same math written with primitive ops.
        let qkv = randomTensor([2, 4, 12], seed: 26, requiresGrad: false)
        let fused = Tensor.selfAttention(qkv: qkv, heads: 2)
        let parts = qkv.reshaped([2, 4, 3, 2, 2]).permuted([2, 0, 3, 1, 4])  // [3, B, H, N, Dh]
        let q = parts.slice(axis: 0, 0..<1).reshaped([4, 4, 2]), k = parts.slice(axis: 0, 1..<2).reshaped([4, 4, 2])
        let v = parts.slice(axis: 0, 2..<3).reshaped([4, 4, 2])
        let p = (Tensor.matmul(q, k, transposeB: true) * (1 / 2.0.squareRoot())).softmax()
        let o = Tensor.matmul(p, v).reshaped([2, 2, 4, 2]).permuted([0, 2, 1, 3]).reshaped([2, 4, 4])
        let diff = maxDifference(fused.doubles, o.doubles)
        #expect(diff.absolute < 1e-12, "fused vs composed attention: \(diff)")
    }

    @Test func losses() {
        let z = randomTensor([4, 5], seed: 27)
        check("crossEntropy", [z]) { $0[0].crossEntropy(labels: [0, 4, 2, 2]) }
        check("crossEntropy ignore", [z]) { $0[0].crossEntropy(labels: [0, -1, 2, 3], ignoreIndex: -1) }
        let t = Tensor.withoutGrad { randomTensor([4, 5], seed: 28, requiresGrad: false).softmax() }
        check("crossEntropy soft", [z]) { $0[0].crossEntropy(softTargets: t) }
        let y = randomTensor([4, 5], seed: 29)
        check("mse", [z, y]) { Tensor.mse($0[0], $0[1]) }
        check("l2Normalized", [z]) { $0[0].l2Normalized() }
    }

    @Test func frozenInputsGetNoGradient() {
        let x = randomTensor([3, 4], seed: 30)
        let w = randomTensor([2, 4], seed: 31, requiresGrad: false)
        x.linear(weight: w, bias: nil).sum().backward()
        #expect(x.grad != nil)
        #expect(w.grad == nil)
    }

    @Test func noGradModeRecordsNothing() {
        let x = randomTensor([3, 4], seed: 32)
        let y = Tensor.withoutGrad { x.exp().sum() }
        #expect(!y.requiresGrad)
    }
}
