import Foundation

/// Student's t distribution: CDF through the regularised incomplete beta function, quantile by bisection on the CDF.
/// Bisection (not Newton) so the result does not depend on starting points; it is accurate to ~1e-12 relative,
/// far beyond what a confidence interval over a handful of seeds needs, and it is checked against scipy in the tests.
public enum StudentT {
    /// P(T ≤ t) for T ~ Student-t with `degreesOfFreedom` > 0.
    public static func cdf(_ t: Double, degreesOfFreedom: Double) -> Double {
        precondition(degreesOfFreedom > 0, "degrees of freedom must be positive")
        if t == 0 { return 0.5 }
        let x = degreesOfFreedom / (degreesOfFreedom + t * t)
        let tail = 0.5 * regularizedIncompleteBeta(x: x, a: degreesOfFreedom / 2, b: 0.5)
        return t > 0 ? 1 - tail : tail
    }

    /// The p-quantile, 0 < p < 1: the t with P(T ≤ t) = p.
    public static func quantile(_ p: Double, degreesOfFreedom: Double) -> Double {
        precondition(p > 0 && p < 1, "probability must lie in (0, 1)")
        precondition(degreesOfFreedom > 0, "degrees of freedom must be positive")
        if p == 0.5 { return 0 }
        if p < 0.5 { return -quantile(1 - p, degreesOfFreedom: degreesOfFreedom) }
        // Closed forms for df 1 (Cauchy) and 2 avoid needless work and anchor the tests.
        if degreesOfFreedom == 1 { return tan(Double.pi * (p - 0.5)) }
        if degreesOfFreedom == 2 { return (2 * p - 1) / (2 * p * (1 - p)).squareRoot() }
        var low = 0.0
        var high = 1.0
        while cdf(high, degreesOfFreedom: degreesOfFreedom) < p { low = high; high *= 2 }
        for _ in 0..<200 {
            let middle = 0.5 * (low + high)
            if middle == low || middle == high { break }
            if cdf(middle, degreesOfFreedom: degreesOfFreedom) < p { low = middle } else { high = middle }
        }
        return 0.5 * (low + high)
    }

    /// I_x(a, b) by the continued fraction of Numerical Recipes §6.4 (modified Lentz), using the symmetry
    /// I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
    static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        precondition(x >= 0 && x <= 1, "x must lie in [0, 1]")
        if x == 0 || x == 1 { return x }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let logFront = logGammas + logPowers
        let front = exp(logFront)
        if x < (a + 1) / (a + b + 2) {
            return front * betaContinuedFraction(x: x, a: a, b: b) / a
        }
        return 1 - front * betaContinuedFraction(x: 1 - x, a: b, b: a) / b
    }

    static func betaContinuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        let epsilon = 1e-16
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...10_000 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            result *= step
            if abs(step - 1) < epsilon { break }
        }
        return result
    }
}
