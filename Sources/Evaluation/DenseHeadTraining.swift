import TensorCore

/// The training loop both dense heads (segmentation, boxes) share: one dense layer W [D, width],
/// b [width] from zero (or any parameter groups from a given start, for the MLP head), image
/// order reshuffled every epoch by the caller's stream, AdamW (decay on the weights only) with a
/// per-step cosine rate.
enum DenseHeadTraining {
    struct Settings {
        var epochs: Int
        var batchSize: Int
        var learningRate: Float
        var weightDecay: Float
    }

    /// `lossAndGradient(members, W, b, &∂W, &∂b)` returns the loss of the images `members` and
    /// adds its gradients into the (zeroed) arrays; `name` labels a non-finite loss.
    static func train(images: Int, dimension: Int, width: Int, settings: Settings, name: String,
                      rng: inout RandomStream,
                      lossAndGradient: (ArraySlice<Int>, [Float], [Float], inout [Float], inout [Float]) -> Float) throws
        -> (weights: [Float], bias: [Float]) {
        precondition(dimension > 0 && width > 0, "dense head shapes")
        let parameters = try train(images: images, initial: [[Float](repeating: 0, count: dimension * width),
                                                              [Float](repeating: 0, count: width)],
                                   decays: [true, false], settings: settings, name: name, rng: &rng) {
            members, parameters, gradients in
            var (weightGradient, biasGradient) = (gradients[0], gradients[1])
            let value = lossAndGradient(members, parameters[0], parameters[1], &weightGradient, &biasGradient)
            gradients = [weightGradient, biasGradient]
            return value
        }
        return (parameters[0], parameters[1])
    }

    /// The same loop for any parameter groups (the MLP head): starts from `initial`, decays the
    /// groups where `decays` is true. `lossAndGradient(members, θ, &∂θ)` adds into zeroed arrays.
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
