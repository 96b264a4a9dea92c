/// L-BFGS (Nocedal & Wright, Algorithm 7.4, two-loop recursion) with a backtracking Armijo
/// line search, in Double. Meant for smooth strictly convex objectives such as L2-regularised
/// logistic regression, where sᵀy > 0 always holds; a pair with sᵀy ≤ 0 is skipped anyway.
///
/// Stops when max |gᵢ| ≤ gradientTolerance (scipy's `gtol` test), when the relative decrease
/// (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ functionTolerance (scipy's `ftol` test), or after
/// maxIterations.
public struct LimitedMemoryBFGS: Sendable {
    public var historySize = 10
    public var maxIterations = 1000
    public var gradientTolerance = 1e-6
    public var functionTolerance = 64 * Double.ulpOfOne
    public var maxLineSearchSteps = 50

    public init(historySize: Int = 10, maxIterations: Int = 1000, gradientTolerance: Double = 1e-6) {
        self.historySize = historySize
        self.maxIterations = maxIterations
        self.gradientTolerance = gradientTolerance
    }

    public struct Outcome: Sendable {
        public var solution: [Double]
        public var value: Double
        public var iterations: Int
        public var evaluations: Int
        public var converged: Bool
    }

    /// Minimises `objective`, which returns f(x) and writes ∇f(x) into its second argument.
    ///
    /// `preconditioner`, when given, applies an approximation M of the inverse Hessian in place;
    /// the initial inverse Hessian of the two-loop recursion is then γM with
    /// γ = sᵀy / yᵀMy (Nocedal & Wright §7.2, eq. 7.20 with M in place of I), and M alone before
    /// the first pair. Without it the scaling is γI (plain L-BFGS). The stopping tests stay on
    /// the unpreconditioned gradient.
    public func minimize(start: [Double], preconditioner: ((inout [Double]) -> Void)? = nil,
                         objective: ([Double], inout [Double]) -> Double) throws -> Outcome {
        let n = start.count
        var x = start
        var gradient = [Double](repeating: 0, count: n)
        var value = objective(x, &gradient)
        var evaluations = 1
        guard value.isFinite else { throw EvaluationError.nonFinite("L-BFGS: objective at the start point") }
        var steps: [[Double]] = []
        var changes: [[Double]] = []
        var rhos: [Double] = []
        var direction = [Double](repeating: 0, count: n)
        var alphas = [Double](repeating: 0, count: historySize)
        var trial = [Double](repeating: 0, count: n)
        var trialGradient = [Double](repeating: 0, count: n)
        for iteration in 0..<maxIterations {
            if gradient.reduce(0, { max($0, abs($1)) }) <= gradientTolerance {
                return Outcome(solution: x, value: value, iterations: iteration, evaluations: evaluations, converged: true)
            }
            // Two-loop recursion: direction = −H·g.
            for i in 0..<n { direction[i] = -gradient[i] }
            for j in stride(from: steps.count - 1, through: 0, by: -1) {
                alphas[j] = rhos[j] * dot(steps[j], direction)
                axpy(-alphas[j], changes[j], &direction)
            }
            if let apply = preconditioner {
                apply(&direction)
                if let lastStep = steps.last, let lastChange = changes.last {
                    var preconditionedChange = lastChange
                    apply(&preconditionedChange)
                    let gamma = dot(lastStep, lastChange) / dot(lastChange, preconditionedChange)
                    for i in 0..<n { direction[i] *= gamma }
                }
            } else if let lastStep = steps.last, let lastChange = changes.last {
                let gamma = dot(lastStep, lastChange) / dot(lastChange, lastChange)
                for i in 0..<n { direction[i] *= gamma }
            } else {
                let norm = dot(gradient, gradient).squareRoot()
                for i in 0..<n { direction[i] /= max(norm, 1) }
            }
            for j in 0..<steps.count {
                let beta = rhos[j] * dot(changes[j], direction)
                axpy(alphas[j] - beta, steps[j], &direction)
            }
            var slope = dot(gradient, direction)
            if slope >= 0 {  // not a descent direction: restart from steepest descent
                steps.removeAll(); changes.removeAll(); rhos.removeAll()
                for i in 0..<n { direction[i] = -gradient[i] }
                slope = dot(gradient, direction)
            }
            // Backtracking Armijo: f(x + t d) ≤ f(x) + 1e-4 t gᵀd.
            var stepLength = 1.0
            var trialValue = 0.0
            var accepted = false
            for _ in 0..<maxLineSearchSteps {
                for i in 0..<n { trial[i] = x[i] + stepLength * direction[i] }
                trialValue = objective(trial, &trialGradient)
                evaluations += 1
                if trialValue.isFinite && trialValue <= value + 1e-4 * stepLength * slope {
                    accepted = true
                    break
                }
                stepLength *= 0.5
            }
            guard accepted else {
                // No decrease along a descent direction: at the limit of floating-point precision.
                return Outcome(solution: x, value: value, iterations: iteration, evaluations: evaluations, converged: true)
            }
            let step = (0..<n).map { trial[$0] - x[$0] }
            let change = (0..<n).map { trialGradient[$0] - gradient[$0] }
            let curvature = dot(step, change)
            if curvature > 1e-12 * dot(change, change) {
                if steps.count == historySize { steps.removeFirst(); changes.removeFirst(); rhos.removeFirst() }
                steps.append(step)
                changes.append(change)
                rhos.append(1 / curvature)
            }
            let decrease = (value - trialValue) / max(abs(value), abs(trialValue), 1)
            x = trial
            gradient = trialGradient
            value = trialValue
            if decrease <= functionTolerance {
                return Outcome(solution: x, value: value, iterations: iteration + 1, evaluations: evaluations, converged: true)
            }
        }
        return Outcome(solution: x, value: value, iterations: maxIterations, evaluations: evaluations, converged: false)
    }

    @inline(__always)
    private func dot(_ a: [Double], _ b: [Double]) -> Double {
        var sum = 0.0
        for i in 0..<a.count { sum += a[i] * b[i] }
        return sum
    }

    @inline(__always)
    private func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        for i in 0..<x.count { y[i] += alpha * x[i] }
    }
}
