/// Loss of the box head on one batch of token grids, with its hand-written gradient.
///
/// The per-token head (linear, or the MLP of TokenHead) maps each standardised token x [D] to
/// K + 1 class logits (the last is background) and 4 box outputs r: y = head(x) [K + 5]
/// (linear: y = x W + b, W [D, K + 5]).
///   L = (1/N_c) Σ_{counted tokens} CE(softmax(z), class)  +  λ (1/max(P, 1)) Σ_{positives} ½ ‖r − r*‖²
/// with N_c the counted (non-crowd-ignored) tokens and P the positive tokens of the batch.
/// Gradient: ∂L/∂z = (softmax(z) − onehot) / N_c on counted tokens; ∂L/∂r = λ (r − r*) / max(P, 1)
/// on positives; then through the head (linear: ∂L/∂W = xᵀ ∂L/∂y, ∂L/∂b = Σ ∂L/∂y).
public struct DetectionHeadLoss<T: HeadScalar> {
    public let dimension: Int
    public let classes: Int
    public let regressionWeight: T

    public init(dimension: Int, classes: Int, regressionWeight: T = 1) {
        self.dimension = dimension
        self.classes = classes
        self.regressionWeight = regressionWeight
    }

    /// Outputs per token: K + 1 logits then 4 box values.
    public var outputs: Int { classes + 5 }

    /// The linear head: tokens [rows, D]; targets concatenated over the batch's images ([rows]
    /// each, [rows, 4]). Adds ∂L/∂W [D, K + 5] and ∂L/∂b [K + 5] into the gradients.
    public func lossAndGradient(tokens: [T], targetClasses: [Int], counted: [Bool], regression: [Double],
                                weights: [T], bias: [T], weightGradient: inout [T], biasGradient: inout [T]) -> T {
        var gradients = [weightGradient, biasGradient]
        let value = lossAndGradient(tokens: tokens, targetClasses: targetClasses, counted: counted,
                                    regression: regression, head: .linear, parameters: [weights, bias],
                                    gradients: &gradients)
        weightGradient = gradients[0]
        biasGradient = gradients[1]
        return value
    }

    /// The same loss through `head`; adds ∂L/∂θ into `gradients` (one array per parameter group
    /// of `head`, see TokenHead).
    public func lossAndGradient(tokens: [T], targetClasses: [Int], counted: [Bool], regression: [Double],
                                head: TokenHead, parameters: [[T]], gradients: inout [[T]]) -> T {
        let rows = targetClasses.count
        precondition(tokens.count == rows * dimension && counted.count == rows && regression.count == rows * 4,
                     "detection loss shapes")
        return head.lossAndGradient(tokens, rows: rows, dimension: dimension, parameters: parameters,
                                    gradients: &gradients) { y in
            outputLossAndGradient(y, targetClasses: targetClasses, counted: counted, regression: regression)
        }
    }

    /// L and ∂L/∂y for the head's outputs y [rows, K + 5].
    func outputLossAndGradient(_ y: [T], targetClasses: [Int], counted: [Bool], regression: [Double]) -> (T, [T]) {
        let rows = targetClasses.count
        let width = outputs
        var gradient = [T](repeating: 0, count: rows * width)
        let countedTokens = counted.filter { $0 }.count
        let positives = (0..<rows).filter { counted[$0] && targetClasses[$0] < classes }.count
        let classScale: T = countedTokens > 0 ? 1 / T(countedTokens) : 0
        let boxScale = regressionWeight / T(max(positives, 1))
        var classLoss: T = 0
        var boxLoss: T = 0
        for i in 0..<rows where counted[i] {
            let row = i * width
            var largest = y[row]
            for c in 1...classes { largest = max(largest, y[row + c]) }
            var sum: T = 0
            for c in 0...classes {
                let e = T.exponential(y[row + c] - largest)
                gradient[row + c] = e
                sum += e
            }
            let target = targetClasses[i]
            classLoss += T.logarithm(sum) - (y[row + target] - largest)
            for c in 0...classes { gradient[row + c] = gradient[row + c] / sum * classScale }
            gradient[row + target] -= classScale
            if target < classes {
                for j in 0..<4 {
                    let difference = y[row + classes + 1 + j] - T(regression[i * 4 + j])
                    boxLoss += difference * difference / 2
                    gradient[row + classes + 1 + j] = boxScale * difference
                }
            }
        }
        return (classLoss * classScale + boxLoss * boxScale, gradient)
    }
}
