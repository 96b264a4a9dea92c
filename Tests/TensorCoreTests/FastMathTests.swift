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
