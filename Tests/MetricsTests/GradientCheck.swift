/// Central finite differences in Double: (f(θ + h eᵢ) − f(θ − h eᵢ)) / 2h against the analytic
/// gradient, reported as max |numeric − analytic| / max(|numeric|, |analytic|, floor).
func maxRelativeGradientError(parameters: [Double], step: Double = 1e-5, floor: Double = 1e-3,
                              indices: [Int]? = nil,
                              value: ([Double]) -> Double, gradient analytic: [Double]) -> Double {
    var worst = 0.0
    for i in indices ?? Array(parameters.indices) {
        var plus = parameters
        plus[i] += step
        var minus = parameters
        minus[i] -= step
        let numeric = (value(plus) - value(minus)) / (2 * step)
        let error = abs(numeric - analytic[i]) / max(abs(numeric), abs(analytic[i]), floor)
        worst = max(worst, error)
    }
    return worst
}
