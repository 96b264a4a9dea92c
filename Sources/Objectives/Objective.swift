import Layers
import TensorCore

/// A self-supervised pretraining objective over the budget's ViT encoder: a step, not a loss.
///
/// The harness owns data, optimizer, schedules, checkpoints and logs. An objective owns its
/// extra modules (decoder, heads, teacher) and turns a batch of views, a step context and its
/// state into a loss and the next state. All randomness an objective needs per step (masks,
/// windows, stochastic depth) comes from the stream passed in, which the harness checkpoints
/// with the state, so a resumed run continues exactly.
public protocol Objective: AnyObject {
    /// The method name used in run directories and result tables ("mae", "lomar", "dino").
    var methodName: String { get }
    /// The encoder being trained (the student).
    var encoder: VisionTransformer { get }
    /// Every trainable tensor with a stable key, encoder first (optimizer and checkpoint order).
    func namedParameters() -> [(String, Tensor)]
    /// Trained encoder tensors that `VisionTransformer` does not hold but that evaluation needs
    /// (LoMaR's relative-position tables); saved into `encoder.h5` beside the ViT keys.
    func encoderExtras() -> [(String, Tensor)]
    /// FLOPs of one training step per source image (forward + backward = 3 × forward,
    /// anchor_vit.py's rule): the encoder's share and the whole step.
    var flopsPerImage: (encoder: Double, total: Double) { get }

    /// The non-trainable state before the first step (empty for MAE and LoMaR).
    func initialState() -> ObjectiveState
    /// The optimizer's parameter groups (default: the budget's learning rate, weight decay on
    /// tensors of rank ≥ 2 only, no clipping).
    func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup]
    /// The optimizer's β₁, β₂, ε when a method's authors' differ from the budget's (torch's
    /// defaults for DINO, SelfPatch, RR and SR); default nil: the budget's.
    var adam: AdamSettings? { get }
    /// One step. Must not change `state`; returns the loss, its terms and the next state.
    func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
              rng: inout RandomStream) -> ObjectiveStep
    /// The encoder written to `encoder.h5` and its extra tensors, given the final state (default:
    /// the trained encoder; DINO exports the teacher, as its authors evaluate).
    func exportedEncoder(state: ObjectiveState) -> (encoder: VisionTransformer, extras: [(String, Tensor)])
    /// Attributes `encoder.h5` needs to be read as it was trained (LoMaR: its relative-position
    /// kind and bucket mapping); default none.
    func exportedAttributes() -> [String: String]
    /// Labels the objective reads from the batch, all below this count (the supervised
    /// reference); nil (default): it reads none, as every self-supervised method.
    var requiredClasses: Int? { get }
}

extension Objective {
    public func initialState() -> ObjectiveState { .empty }

    public func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup] {
        plan.decayGroups(namedParameters())
    }

    public func exportedEncoder(state: ObjectiveState) -> (encoder: VisionTransformer, extras: [(String, Tensor)]) {
        (encoder, encoderExtras())
    }

    public func exportedAttributes() -> [String: String] { [:] }

    public var adam: AdamSettings? { nil }

    public var requiredClasses: Int? { nil }
}

/// An objective whose step is one loss on the first view and that keeps no state (MAE, LoMaR).
public protocol SingleViewObjective: Objective {
    /// One training loss on images [B, C, H, W]; `rng` is the run's mask stream.
    func loss(images: Tensor, rng: inout RandomStream) -> ObjectiveLoss
}

extension SingleViewObjective {
    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        let out = loss(images: batch.views[0].images, rng: &rng)
        return ObjectiveStep(loss: out.loss, terms: out.terms, nextState: { state })
    }
}

/// A loss with its named terms (logged per step; keys are snake_case).
public struct ObjectiveLoss {
    public var loss: Tensor
    public var terms: [(String, Double)]
    public init(loss: Tensor, terms: [(String, Double)]) {
        self.loss = loss
        self.terms = terms
    }
}

/// Analytic FLOP counts: 2·M·N·K per matrix product, as in anchor_vit.py's `flops_per_image`.
public enum FlopCount {
    public static func matmul(_ m: Int, _ n: Int, _ k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }

    /// One pre-norm transformer block on `tokens` tokens of width `d`, `heads` heads, MLP ratio 4.
    public static func block(tokens t: Int, width d: Int, heads h: Int, mlpRatio r: Double = 4) -> Double {
        let hd = d / h, hidden = Int(Double(d) * r)
        return matmul(t, 3 * d, d) + Double(h) * matmul(t, t, hd) + Double(h) * matmul(t, hd, t) + matmul(t, d, d)
            + matmul(t, hidden, d) + matmul(t, d, hidden)
    }

    /// One class-attention block (`ClassAttentionBlock`): a query from cls alone, keys and values
    /// from [cls; x] (`tokens` + 1 rows), then projection and MLP on cls.
    public static func classAttention(tokens t: Int, width d: Int, heads h: Int, mlpRatio r: Double = 4) -> Double {
        let u = t + 1, hd = d / h, hidden = Int(Double(d) * r)
        return matmul(1, d, d) + 2 * matmul(u, d, d) + Double(h) * (matmul(1, u, hd) + matmul(1, hd, u)) + matmul(1, d, d)
            + matmul(1, hidden, d) + matmul(1, d, hidden)
    }

    /// The encoder's forward: patch embedding of `patches` patches, then `depth` blocks on `tokens`.
    public static func encoder(_ c: ViTConfig, patches: Int, tokens: Int) -> Double {
        matmul(patches, c.dimension, c.patchSize * c.patchSize * c.channels)
            + Double(c.depth) * block(tokens: tokens, width: c.dimension, heads: c.heads, mlpRatio: c.mlpRatio)
    }
}
