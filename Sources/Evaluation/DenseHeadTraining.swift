import TensorCore

/// The training loop both dense heads (segmentation, boxes) share: one dense layer W [D, width],
/// b [width] from zero, image order reshuffled every epoch by the caller's stream, AdamW
/// (decay on W only) with a per-step cosine rate.
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
        precondition(images > 0 && dimension > 0 && width > 0 && settings.batchSize > 0, "dense head shapes")
        var parameters = [[Float](repeating: 0, count: dimension * width), [Float](repeating: 0, count: width)]
        var optimizer = AdamW(shapes: [dimension * width, width], learningRate: settings.learningRate,
                              weightDecay: settings.weightDecay)
        let batchesPerEpoch = (images + settings.batchSize - 1) / settings.batchSize
        let totalSteps = settings.epochs * batchesPerEpoch
        var step = 0
        for epoch in 0..<settings.epochs {
            let order = rng.permutation(images)
            for batch in 0..<batchesPerEpoch {
                let members = order[(batch * settings.batchSize)..<min((batch + 1) * settings.batchSize, images)]
                var weightGradient = [Float](repeating: 0, count: dimension * width)
                var biasGradient = [Float](repeating: 0, count: width)
                let value = lossAndGradient(members, parameters[0], parameters[1], &weightGradient, &biasGradient)
                guard value.isFinite else {
                    throw EvaluationError.nonFinite("\(name) loss at epoch \(epoch), batch \(batch)")
                }
                let rate = AdamW.cosineRate(base: settings.learningRate, step: step, total: totalSteps)
                optimizer.update(&parameters, gradients: [weightGradient, biasGradient], decays: [true, false],
                                 learningRate: rate)
                step += 1
            }
        }
        return (parameters[0], parameters[1])
    }
}
