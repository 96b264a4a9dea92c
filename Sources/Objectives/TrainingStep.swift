import Datasets
import Layers
import TensorCore

/// One training batch as an objective sees it: every view of the method's recipe, in recipe
/// order (DINO: the two global crops, then the local ones), each with where its samples came from.
public struct TrainingBatch {
    public struct View {
        /// [B, C, size, size], normalised.
        public var images: Tensor
        /// Per sample: the crop box in source pixels and the flip.
        public var geometry: [CropGeometry]
        public init(images: Tensor, geometry: [CropGeometry]) {
            precondition(images.rank == 4 && images.shape[0] == geometry.count,
                         "a view's images [B, C, H, W] \(images.shape) need one geometry per sample (\(geometry.count))")
            self.images = images
            self.geometry = geometry
        }
    }

    public var views: [View]
    /// Per source image, its class label from the pack; empty where the split has none. Only the
    /// supervised reference row reads them: a self-supervised objective never does.
    public var labels: [Int]
    public init(views: [View], labels: [Int] = []) {
        precondition(!views.isEmpty && views.allSatisfy { $0.images.shape[0] == views[0].images.shape[0] },
                     "a batch needs at least one view and the same sample count in every view")
        precondition(labels.isEmpty || labels.count == views[0].images.shape[0], "a batch needs one label per sample or none")
        self.views = views
        self.labels = labels
    }

    /// Source images in the batch.
    public var count: Int { views[0].images.shape[0] }

    /// Runs of consecutive views of one size, in view order (utils.MultiCropWrapper batches
    /// each run through the backbone at once).
    public var resolutionGroups: [Range<Int>] {
        var groups: [Range<Int>] = []
        var start = 0
        while start < views.count {
            var end = start + 1
            while end < views.count && views[end].images.shape[2] == views[start].images.shape[2] { end += 1 }
            groups.append(start..<end)
            start = end
        }
        return groups
    }

    /// The images of views `range` as one batch, crop-major.
    public func images(_ range: Range<Int>) -> Tensor {
        range.count == 1 ? views[range.lowerBound].images : Tensor.concat(range.map { views[$0].images }, axis: 0)
    }
}

/// Where the run is when a step is taken.
public struct StepContext: Equatable, Sendable {
    /// 0-based index of the step being taken.
    public var step: Int
    public var stepsPerEpoch: Int
    public var totalSteps: Int
    public init(step: Int, stepsPerEpoch: Int, totalSteps: Int) {
        precondition(stepsPerEpoch > 0 && totalSteps > 0 && step >= 0, "step context needs positive sizes")
        self.step = step
        self.stepsPerEpoch = stepsPerEpoch
        self.totalSteps = totalSteps
    }
    /// 0-based epoch of the step (DINO's schedules and its frozen last layer count epochs).
    public var epoch: Int { step / stepsPerEpoch }
    public var totalEpochs: Int { (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch }
}

/// Named non-trainable tensors an objective carries from step to step (EMA teacher, centres,
/// queues), in a fixed order. Passed into every step and returned as a new value: an objective
/// never changes the state it was given, and the harness commits the returned one after the
/// optimizer step and checkpoints it under `state/<name>`.
public struct ObjectiveState {
    public var tensors: [(String, Tensor)]
    public init(_ tensors: [(String, Tensor)]) { self.tensors = tensors }
    public static let empty = ObjectiveState([])

    public subscript(name: String) -> Tensor? { tensors.first { $0.0 == name }?.1 }

    /// The tensors whose names start with `prefix.`, with the prefix removed.
    public func group(_ prefix: String) -> [(String, Tensor)] {
        tensors.compactMap { $0.0.hasPrefix(prefix + ".") ? (String($0.0.dropFirst(prefix.count + 1)), $0.1) : nil }
    }
}

/// What a step returns: the loss to differentiate, its logged terms, and how to make the state
/// after the update (the harness calls `nextState` once the optimizer has changed the
/// parameters, so an EMA teacher follows the updated student).
public struct ObjectiveStep {
    public var loss: Tensor
    public var terms: [(String, Double)]
    public var nextState: () -> ObjectiveState
    public init(loss: Tensor, terms: [(String, Double)], nextState: @escaping () -> ObjectiveState) {
        self.loss = loss
        self.terms = terms
        self.nextState = nextState
    }
}

/// How a group's gradients are limited before the update.
public enum ClippingRule: Equatable, Sendable {
    case none
    /// torch.nn.utils.clip_grad_norm_ over the group's tensors together.
    case globalNorm(Double)
    /// DINO's `clip_gradients`: each tensor's gradient to this norm separately.
    case perTensor(Double)
}

/// A set of parameters that share their optimizer settings.
public struct ParameterGroup {
    public var name: String
    /// Parameter keys (of `Objective.namedParameters()`), in that order.
    public var keys: [String]
    /// Learning rate of every step (index = step).
    public var learningRate: [Double]
    /// Weight decay of every step.
    public var weightDecay: [Double]
    public var clipping: ClippingRule
    /// The group gets no update (no gradient, no weight decay, no moment change) before this step:
    /// DINO's frozen last layer during the first epoch.
    public var frozenUntilStep: Int

    public init(name: String, keys: [String], learningRate: [Double], weightDecay: [Double],
                clipping: ClippingRule = .none, frozenUntilStep: Int = 0) {
        precondition(learningRate.count == weightDecay.count, "group \(name): one learning rate and one weight decay per step")
        self.name = name
        self.keys = keys
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.frozenUntilStep = frozenUntilStep
    }
}

/// The budget's optimizer settings as the harness hands them to an objective to shape its groups.
public struct OptimizerPlan: Sendable {
    /// The budget's learning rate of every step (its warm-up and cosine).
    public var learningRate: [Double]
    /// The budget's weight decay (constant).
    public var weightDecay: Double
    /// Source images per step (learning rates scale with it).
    public var batchSize: Int
    /// The run's size (step 0).
    public var context: StepContext
    public init(learningRate: [Double], weightDecay: Double, batchSize: Int, context: StepContext) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.context = context
    }

    /// The rule of MAE's code and of DINO's `get_params_groups`: weight decay on tensors of rank ≥ 2
    /// ("decay", which takes the CLS token and position embedding), none on rank-1 tensors, i.e.
    /// biases and norms ("no_decay"); one learning rate, no clipping.
    public func decayGroups(_ parameters: [(String, Tensor)], weightDecay: [Double]? = nil,
                            clipping: ClippingRule = .none) -> [ParameterGroup] {
        let decay = weightDecay ?? [Double](repeating: self.weightDecay, count: learningRate.count)
        let none = [Double](repeating: 0, count: learningRate.count)
        return [
            ParameterGroup(name: "decay", keys: parameters.filter { $0.1.rank >= 2 }.map(\.0), learningRate: learningRate,
                           weightDecay: decay, clipping: clipping),
            ParameterGroup(name: "no_decay", keys: parameters.filter { $0.1.rank < 2 }.map(\.0), learningRate: learningRate,
                           weightDecay: none, clipping: clipping),
        ]
    }
}

/// Adam's constants for an objective that does not use the budget's (see `Objective.adam`).
public struct AdamSettings: Codable, Equatable, Sendable {
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public init(beta1: Double, beta2: Double, eps: Double) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
    }

    /// torch.optim.Adam's and AdamW's defaults: what code that passes no betas runs (DINO,
    /// SelfPatch, RR, SR).
    public static let torchDefaults = AdamSettings(beta1: 0.9, beta2: 0.999, eps: 1e-8)
}
