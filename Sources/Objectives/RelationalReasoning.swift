// Self-Supervised Relational Reasoning for Representation Learning (Patacchiola & Storkey,
// NeurIPS 2020), arXiv:2006.05849; reference code mpatacchiola/self-supervised-relational-reasoning
// (methods/relationnet.py: `Model.aggregate`, `relation_module`, `FocalLoss`). Spec:
// shared/specs/spatialreasoning-randsac-lomar.md §1.1, §1.3. Documentation/Objectives/RR-SR.md.
//
// Equations, in the order a step realises them:
//   (1) f_k = GAP(ViT(x_k)), k = 1…K          one shared backbone over the K views, view-major
//   (2) for every view pair i < j (shift s = 1, 2, … reset to 1 once s ≥ B):
//         positive  [f_i[b], f_j[b]]              target 1
//         negative  [f_i[b], f_j[(b − s) mod B]]  target 0   (torch.roll(f_j, s, 0))
//   (3) z = Linear₂(LeakyReLU(BN1d(Linear₁(pair))))   the relation head, BN in training mode
//   (4) L = mean focal(z, y), focal = α_y·(1 − p_t)^γ·BCE(z, y), γ = 2, α = 0.5
// Optimizer (the authors', an explicit exception to the shared one): Adam, lr 1e-3 constant,
// no weight decay, for backbone and head (`parameterGroups`, `adam`).
import Datasets
import Foundation
import Layers
import TensorCore

/// The relation module: Linear(2F → h) → BatchNorm1d(h) → LeakyReLU(0.01) → Linear(h → outputs)
/// (`relation_module`: linear1, bn1, relu, linear2). Linear layers start as torch's default
/// (weights and biases U(±1/√fan_in)); BN as torch's (γ 1, β 0). Its running statistics are
/// the caller's (`BatchNorm1d.Statistics`).
public final class RelationHead: Module {
    public let linear1: Linear
    public let bn1: BatchNorm1d
    public let linear2: Linear
    public let slope: Double

    public init(inputs: Int, hidden: Int = 256, outputs: Int, slope: Double = 0.01, dtype: DType = .float32,
                rng: inout RandomStream) {
        linear1 = Linear.torchDefault(inputs, hidden, dtype: dtype, rng: &rng)
        bn1 = BatchNorm1d(hidden, dtype: dtype)
        linear2 = Linear.torchDefault(hidden, outputs, dtype: dtype, rng: &rng)
        self.slope = slope
    }

    /// Training mode: pairs [M, 2F] → logits [M, outputs] and the BN's next running statistics.
    public func training(_ pairs: Tensor, running: BatchNorm1d.Statistics) -> (output: Tensor, running: BatchNorm1d.Statistics) {
        let (h, next) = bn1.training(linear1(pairs), running: running)
        return (linear2(h.leakyRelu(slope: slope)), next)
    }

    public func namedParameters() -> [(String, Tensor)] {
        linear1.namedParameters(prefix: "linear1") + bn1.namedParameters(prefix: "bn1") + linear2.namedParameters(prefix: "linear2")
    }

    /// State keys of the BN's running statistics under `prefix`.
    public static func statisticsKeys(_ prefix: String) -> (mean: String, variance: String) {
        ("\(prefix).bn1.running_mean", "\(prefix).bn1.running_var")
    }
}

/// The view pairs of `Model.aggregate` (type "cat") as row indices into the view-major
/// features [K·B, F]: for each pair i < j, B positive rows then B negative rows.
public struct RelationPairs: Equatable, Sendable {
    /// Rows of the first half of each pair (f_i[b]).
    public var left: [Int]
    /// Rows of the second half (f_j[b] for positives, f_j[(b − s) mod B] for negatives).
    public var right: [Int]
    /// True for a positive row (RR's target 1; SR's image target 0).
    public var positive: [Bool]
    /// The view pair (i, j) and the shift s of each pair, in order.
    public var shifts: [(i: Int, j: Int, shift: Int)]

    public static func == (a: RelationPairs, b: RelationPairs) -> Bool {
        a.left == b.left && a.right == b.right && a.positive == b.positive
            && a.shifts.map { [$0.i, $0.j, $0.shift] } == b.shifts.map { [$0.i, $0.j, $0.shift] }
    }

    /// Eq. (2): `shifts_counter` starts at 1, grows by one per pair and returns to 1 once it
    /// reaches B ("reset to avoid neutralizing the roll").
    public init(views k: Int, batch b: Int) {
        precondition(k >= 2 && b >= 1, "relation pairs need K ≥ 2 views and a batch, got K = \(k), B = \(b)")
        left = []
        right = []
        positive = []
        shifts = []
        var s = 1
        for i in 0..<k {
            for j in (i + 1)..<k {
                left += (0..<b).map { i * b + $0 }
                right += (0..<b).map { j * b + $0 }
                positive += [Bool](repeating: true, count: b)
                left += (0..<b).map { i * b + $0 }
                right += (0..<b).map { j * b + (($0 - s) % b + b) % b }          // torch.roll(x, s, 0)[b] = x[b − s]
                positive += [Bool](repeating: false, count: b)
                shifts.append((i, j, s))
                s += 1
                if s >= b { s = 1 }
            }
        }
    }

    public var count: Int { left.count }

    /// The head's input [M, 2F] from features [K·B, F].
    public func concatenated(_ features: Tensor) -> Tensor {
        Tensor.concat([features.gatherRows(left), features.gatherRows(right)], axis: 1)
    }
}

public final class RelationalReasoning: Objective, Module {
    /// Hyperparameters: the authors' head and loss; K scaled down (spec §1.3).
    public struct Config: Codable, Equatable, Sendable {
        /// K, augmented views per image (32 officially at batch 64; 4 here, as SR's README run).
        public var views: Int = 4
        /// The relation head's hidden width.
        public var hidden: Int = 256
        /// γ and α of the focal loss (Eq. 4).
        public var focalGamma: Double = 2
        public var focalAlpha: Double = 0.5
        /// Adam's constant learning rate for backbone and head (the authors'; not the budget's).
        public var learningRate: Double = 1e-3
        /// RandomResizedCrop's scale range of every view (torchvision's default 0.08–1).
        public var cropScale: [Double] = [0.08, 1.0]

        public init() {}
    }

    /// The method-table name encoder.h5 records (an arm passes its own).
    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    public let head: RelationHead

    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), methodName: String = "relational-reasoning",
                dtype: DType = .float32, rng: inout RandomStream) {
        self.methodName = methodName
        precondition(config.views >= 2, "Relational Reasoning needs K ≥ 2 views")
        self.config = config
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        head = RelationHead(inputs: 2 * encoderConfig.dimension, hidden: config.hidden, outputs: 1, dtype: dtype, rng: &rng)
    }

    public func namedParameters() -> [(String, Tensor)] {
        encoder.namedParameters(prefix: "backbone") + head.namedParameters(prefix: "relation_module")
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    /// K identical views of `datamanager.py`'s relationnet transform: RandomResizedCrop(size,
    /// scale), hflip 0.5, ColorJitter(0.8, 0.8, 0.8, 0.2) with p 0.8, grayscale p 0.2, normalise
    /// (the budget's statistics).
    public static func recipe(views: Int, size: Int, scale: [Double], mean: [Float], std: [Float]) -> MultiCropRecipe {
        var view = ViewRecipe(size: size, scale: scale[0]...scale[1])
        view.interpolation = .bilinear
        view.jitter = ColorJitterStrength(brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2)
        view.mean = mean
        view.std = std
        return MultiCropRecipe(views: [ViewRecipe](repeating: view, count: views))
    }

    public func initialState() -> ObjectiveState { BatchNormState.initial(head.bn1, prefix: "relation_module") }

    public func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup] {
        AuthorsAdam.groups(namedParameters(), learningRate: config.learningRate, steps: plan.learningRate.count)
    }

    public var adam: AdamSettings? { AdamSettings.torchDefaults }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        precondition(batch.views.count == config.views, "Relational Reasoning takes K = \(config.views) views, got \(batch.views.count)")
        let features = GlobalFeatures.of(encoder, batch.images(0..<config.views))                    // Eq. (1)
        let out = relationLoss(features: features, views: config.views, state: state)
        return ObjectiveStep(loss: out.loss, terms: [("focal", out.loss.item)]) { out.state }
    }

    /// Eqs. (2)–(4) on view-major features [K·B, F]: the loss and the state with the BN's next
    /// running statistics.
    public func relationLoss(features: Tensor, views k: Int, state: ObjectiveState) -> (loss: Tensor, state: ObjectiveState) {
        let pairs = RelationPairs(views: k, batch: features.shape[0] / k)                              // Eq. (2)
        let running = BatchNormState.read(state, prefix: "relation_module")
        let (logits, next) = head.training(pairs.concatenated(features), running: running)           // Eq. (3)
        let targets = Tensor(pairs.positive.map { $0 ? 1.0 : 0.0 }, shape: [pairs.count, 1], dtype: features.dtype)
        let loss = Self.focalLoss(logits: logits, targets: targets, gamma: config.focalGamma, alpha: config.focalAlpha)  // Eq. (4)
        return (loss, BatchNormState.write(next, prefix: "relation_module"))
    }

    /// `FocalLoss.forward`: mean of (1 − p_t)^γ · (α y + (1 − α)(1 − y)) · BCE(z, y), with
    /// p = σ(z) and p_t = y p + (1 − y)(1 − p); gradients flow through the modulating factor too.
    public static func focalLoss(logits z: Tensor, targets y: Tensor, gamma: Double, alpha: Double) -> Tensor {
        precondition(gamma == 2 || gamma == 0, "focal loss: γ is 2 (the authors') or 0 (plain BCE)")
        let bce = z.binaryCrossEntropy(logitTargets: y)
        let p = z.sigmoid()
        let pt = y * p + (1 - y) * (1 - p)
        let weight = Tensor.withoutGrad { y * alpha + (1 - y) * (1 - alpha) }
        let modulated = gamma == 2 ? (1 - pt).square() * bce : bce
        return (modulated * weight).mean()
    }

    // MARK: FLOPs

    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, tokens = c.patchCount + (c.clsToken ? 1 : 0)
        let forward = FlopCount.encoder(c, patches: c.patchCount, tokens: tokens)
        let k = config.views, pairRows = Double(k * (k - 1))              // 2 rows per view pair per image
        let head = pairRows * (FlopCount.matmul(1, config.hidden, 2 * c.dimension) + FlopCount.matmul(1, 1, config.hidden))
        return (3 * Double(k) * forward, 3 * Double(k) * forward + 3 * head)
    }
}

extension Tensor {
    /// c − x elementwise.
    static func - (c: Double, x: Tensor) -> Tensor { x.affine(scale: -1, shift: c) }
}

/// A ResNet's global-average-pooled feature on the ViT: the mean of the final-block patch tokens
/// after the final LN (as MoCo-v2 here, spec §1.3), [B, D].
public enum GlobalFeatures {
    public static func of(_ encoder: VisionTransformer, _ images: Tensor) -> Tensor {
        MomentumContrast.patchTokens(encoder, images).mean(axes: [1])
    }
}

/// The BN running statistics of a relation head as objective state (`<prefix>.bn1.running_mean`, `…_var`).
enum BatchNormState {
    static func initial(_ bn: BatchNorm1d, prefix: String) -> ObjectiveState { write(bn.initialStatistics(), prefix: prefix) }

    static func read(_ state: ObjectiveState, prefix: String) -> BatchNorm1d.Statistics {
        let keys = RelationHead.statisticsKeys(prefix)
        guard let mean = state[keys.mean], let variance = state[keys.variance] else {
            preconditionFailure("the state has no \(keys.mean) or \(keys.variance)")
        }
        return BatchNorm1d.Statistics(mean: mean, variance: variance)
    }

    static func write(_ s: BatchNorm1d.Statistics, prefix: String) -> ObjectiveState {
        let keys = RelationHead.statisticsKeys(prefix)
        return ObjectiveState([(keys.mean, s.mean), (keys.variance, s.variance)])
    }
}

/// The authors' optimizer for both RR and SR: `Adam([{net, lr 1e-3}, {relation_module, lr 1e-3}])`,
/// torch's defaults β (0.9, 0.999), ε 1e-8, no weight decay, no schedule. With no weight decay
/// the harness's AdamW is exactly Adam.
enum AuthorsAdam {
    static func groups(_ parameters: [(String, Tensor)], learningRate: Double, steps: Int) -> [ParameterGroup] {
        [ParameterGroup(name: "adam", keys: parameters.map(\.0), learningRate: [Double](repeating: learningRate, count: steps),
                        weightDecay: [Double](repeating: 0, count: steps))]
    }
}
