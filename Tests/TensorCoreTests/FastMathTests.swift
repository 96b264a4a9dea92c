import Foundation
import Testing
import TensorCore

/// The float32 SIMD approximations against libm in Double over a dense grid.
@Suite struct FastMathTests {
    func grid(_ lo: Double, _ hi: Double, _ n: Int = 200_001) -> [Float] {
        (0..<n).map { Float(lo + (hi - lo) * Double($0) / Double(n - 1)) }
    }

    @Test func expIsAccurate() {
        let x = grid(-87, 88)
        var y = [Float](repeating: 0, count: x.count)
        FastMath.exp(x, &y, x.count)
        var worst = 0.0
        for i in 0..<x.count { worst = max(worst, abs(Double(y[i]) - Foundation.exp(Double(x[i]))) / Foundation.exp(Double(x[i]))) }
        #expect(worst < 3e-7, "exp max relative error \(worst)")
    }

    /// Below ln(FLT_MIN) exp is exactly 0, so a masked (−∞) or far-below-max score gets an exact
    /// zero probability, never a subnormal (subnormal operands make Intel cores take a microcode
    /// assist per multiply). With the old clamp, softmax wrote FLT_MIN/Σ, a subnormal, here.
    @Test func expUnderflowsToZeroAndSoftmaxWritesNoSubnormals() {
        let x: [Float] = [-.infinity, -1e30, -104, -88, -87.34, -87.3366] + grid(-87.33, -87, 26)
        var y = [Float](repeating: 1, count: x.count)
        FastMath.exp(x, &y, x.count)
        #expect(Array(y[0..<6]) == [0, 0, 0, 0, 0, 0])
        #expect(y[6...].allSatisfy { $0.isNormal }, "\(y)")
        let scores: [Float] = [3, -.infinity, 0, -.infinity, -95, 1, -.infinity, 2] + [Float](repeating: -.infinity, count: 24)
        let p = Tensor(floats: scores, shape: [2, 16]).softmax().floats
        #expect(p.allSatisfy { $0 == 0 || $0.isNormal }, "\(p)")
        #expect(zip(scores[0..<16], p[0..<16]).allSatisfy { $0.0 > -87 || $0.1 == 0 })
        #expect(abs(p[0..<16].reduce(0, +) - 1) < 1e-6)
        #expect(p[16...].allSatisfy { $0 == 1.0 / 16 }, "a row with every score −∞ is uniform, not NaN")
        let logp = Tensor(floats: scores, shape: [2, 16]).logSoftmax().floats
        #expect(logp[16...].allSatisfy { $0 == -.infinity }, "log-softmax of a row with every score −∞ is −∞, not NaN")
        #expect(zip(p[0..<16], logp[0..<16]).allSatisfy { $0.0 == 0 ? $0.1 < -87 : abs(log($0.0) - $0.1) < 1e-5 })
    }

    @Test func erfIsAccurate() {
        let x = grid(-6, 6)
        var y = [Float](repeating: 0, count: x.count)
        FastMath.erf(x, &y, x.count)
        var worst = 0.0
        for i in 0..<x.count { worst = max(worst, abs(Double(y[i]) - Foundation.erf(Double(x[i])))) }
        #expect(worst < 1e-6, "erf max absolute error \(worst)")
    }

    @Test func tanhIsAccurate() {
        let x = grid(-12, 12)
        var y = [Float](repeating: 0, count: x.count)
        FastMath.tanh(x, &y, x.count)
        var worst = 0.0
        for i in 0..<x.count { worst = max(worst, abs(Double(y[i]) - Foundation.tanh(Double(x[i])))) }
        #expect(worst < 3e-7, "tanh max absolute error \(worst)")
    }
}
