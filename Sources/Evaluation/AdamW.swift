import Foundation

/// AdamW (Loshchilov & Hutter) on flat Float parameter arrays, with decoupled weight decay
/// applied only where `decayMask` is true (weights, not biases). Used by the trainable heads.
struct AdamW {
    var learningRate: Float
    var beta1: Float = 0.9
    var beta2: Float = 0.999
    var epsilon: Float = 1e-8
    var weightDecay: Float
    private(set) var step = 0
    private var firstMoment: [[Float]]
    private var secondMoment: [[Float]]

    init(shapes: [Int], learningRate: Float, weightDecay: Float) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        firstMoment = shapes.map { [Float](repeating: 0, count: $0) }
        secondMoment = firstMoment
    }

    /// One update of every parameter group; `decays[i]` says whether group i gets weight decay.
    mutating func update(_ parameters: inout [[Float]], gradients: [[Float]], decays: [Bool], learningRate rate: Float) {
        step += 1
        let correction1 = 1 - Foundation.pow(beta1, Float(step))
        let correction2 = 1 - Foundation.pow(beta2, Float(step))
        for group in parameters.indices {
            for i in parameters[group].indices {
                let g = gradients[group][i]
                firstMoment[group][i] = beta1 * firstMoment[group][i] + (1 - beta1) * g
                secondMoment[group][i] = beta2 * secondMoment[group][i] + (1 - beta2) * g * g
                let mHat = firstMoment[group][i] / correction1
                let vHat = secondMoment[group][i] / correction2
                if decays[group] { parameters[group][i] -= rate * weightDecay * parameters[group][i] }
                parameters[group][i] -= rate * mHat / (vHat.squareRoot() + epsilon)
            }
        }
    }

    /// Cosine decay from `base` to 0 over `total` steps (step counted from 0).
    static func cosineRate(base: Float, step: Int, total: Int) -> Float {
        base * 0.5 * (1 + Float(Foundation.cos(Double.pi * Double(step) / Double(max(total, 1)))))
    }
}
