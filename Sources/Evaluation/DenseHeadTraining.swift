import TensorCore

/// The training loop both dense heads (segmentation, boxes) share: the head's parameter groups
/// from a given start (TokenHead: zero for the linear head), image order reshuffled every epoch by
/// the caller's stream, AdamW (decay on the weights only) with a per-step cosine rate.
enum DenseHeadTraining {
    struct Settings {
        var epochs: Int
        var batchSize: Int
        var learningRate: Float
        var weightDecay: Float
    }

    /// Trains parameter groups (TokenHead's) from `initial`, decaying the groups where `decays`
    /// is true. `lossAndGradient(members, θ, &∂θ)` adds into zeroed arrays.
    static func train(images: Int, initial: [[Float]], decays: [Bool], settings: Settings, name: String,
                      rng: inout RandomStream,
                      lossAndGradient: (ArraySlice<Int>, [[Float]], inout [[Float]]) -> Float) throws -> [[Float]] {
        precondition(images > 0 && settings.batchSize > 0 && initial.count == decays.count, "dense head shapes")
        var parameters = initial
        var optimizer = AdamW(shapes: initial.map(\.count), learningRate: settings.learningRate,
                              weightDecay: settings.weightDecay)
        let batchesPerEpoch = (images + settings.batchSize - 1) / settings.batchSize
        let totalSteps = settings.epochs * batchesPerEpoch
        var step = 0
        for epoch in 0..<settings.epochs {
            let order = rng.permutation(images)
            for batch in 0..<batchesPerEpoch {
                let members = order[(batch * settings.batchSize)..<min((batch + 1) * settings.batchSize, images)]
                var gradients = initial.map { [Float](repeating: 0, count: $0.count) }
                let value = lossAndGradient(members, parameters, &gradients)
                guard value.isFinite else {
                    throw EvaluationError.nonFinite("\(name) loss at epoch \(epoch), batch \(batch)")
                }
                let rate = AdamW.cosineRate(base: settings.learningRate, step: step, total: totalSteps)
                optimizer.update(&parameters, gradients: gradients, decays: decays, learningRate: rate)
                step += 1
            }
        }
        return parameters
    }
}
