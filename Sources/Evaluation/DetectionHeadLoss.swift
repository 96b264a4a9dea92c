/// Loss of the linear box head on one batch of token grids, with its hand-written gradient.
///
/// One dense layer maps each standardised token x [D] to K + 1 class logits (the last is
/// background) and 4 box outputs r: y = x W + b, W [D, K + 5].
///   L = (1/N_c) Σ_{counted tokens} CE(softmax(z), class)  +  λ (1/max(P, 1)) Σ_{positives} ½ ‖r − r*‖²
/// with N_c the counted (non-crowd-ignored) tokens and P the positive tokens of the batch.
/// Gradient: ∂L/∂z = (softmax(z) − onehot) / N_c on counted tokens; ∂L/∂r = λ (r − r*) / max(P, 1)
/// on positives; then ∂L/∂W = xᵀ ∂L/∂y, ∂L/∂b = Σ ∂L/∂y.
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

    /// tokens: [rows, D]; targets concatenated over the batch's images ([rows] each, [rows, 4]).
    /// Adds ∂L/∂W [D, K + 5] and ∂L/∂b [K + 5] into the gradients.
    public func lossAndGradient(tokens: [T], targetClasses: [Int], counted: [Bool], regression: [Double],
                                weights: [T], bias: [T], weightGradient: inout [T], biasGradient: inout [T]) -> T {
        let rows = targetClasses.count
        precondition(tokens.count == rows * dimension && counted.count == rows && regression.count == rows * 4,
                     "detection loss shapes")
        let width = outputs
        let y = DenseLayer.forward(tokens, rows: rows, dimension: dimension, weights: weights, bias: bias)
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
        DenseLayer.backward(tokens, rows: rows, dimension: dimension, outputGradient: gradient,
                            weightGradient: &weightGradient, biasGradient: &biasGradient)
        return classLoss * classScale + boxLoss * boxScale
    }
}
