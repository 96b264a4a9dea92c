// Improved Baselines with Momentum Contrastive Learning (Chen et al., "MoCo v2"), arXiv:2003.04297;
// reference code facebookresearch/moco (moco/builder.py) as DenseCL's authors carry it
// (WXinlong/DenseCL openselfsup/models/moco.py `MOCO`, necks.py `NonLinearNeckV1`,
// heads/contrastive_head.py `ContrastiveHead`). Spec: shared/specs/selfpatch-densecl.md §3, §5.
//
// Equations, in the order a step realises them:
//   (1) θ_k ← m·θ_k + (1 − m)·θ_q                     key encoder first (`_momentum_update_key_encoder`)
//   (2) q = ‖g_q(GAP(f_q(x₁)))‖, k = ‖g_k(GAP(f_k(x₂)))‖   f: ViT patch tokens after the final LN
//   (3) L = CE([q·k, q·Q] / τ, 0)                     one direction only, negatives from the queue Q
//   (4) Q ← Q with k written at the pointer; pointer += B mod K   after the loss
// On a ViT (spec §5): GAP of the patch tokens is the global feature (ResNet's GAP), no
// shuffle-BN (no BN anywhere), AdamW as every method (the budget's optimizer), m = 0.99.
import Datasets
import Foundation
import Layers
import TensorCore

public final class MoCoV2: Objective, Module {
    /// Hyperparameters: the authors' loss and neck with the sizes scaled to the tiny ViT (spec §5).
    public struct Config: Codable, Equatable, Sendable {
        /// The neck's hidden width. The official neck is square (hidden = the backbone's width:
        /// 2048 → 2048 on ResNet-50), which would be D here; 512 widens the ViT's D on purpose
        /// (spec §5 allows D…512).
        public var hidden: Int = 512
        /// `feat_dim`: the embedding each contrast compares.
        public var outputs: Int = 128
        /// K, the queue length (65536 on ImageNet; CIFAR recipe 4096): well below the dataset
        /// size and divisible by the batch size.
        public var queueSize: Int = 4096
        /// τ (Eq. 3).
        public var temperature: Double = 0.2
        /// m (Eq. 1): 0.999 officially; 0.99 (the CIFAR recipe) because 1/(1 − m) must be far
        /// below a few thousand steps.
        public var momentum: Double = 0.99

        public init() {}
    }

    /// The method-table name encoder.h5 records (an arm passes its own).
    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    /// The global projection (`NonLinearNeckV1.mlp`).
    public let neck: ReLUProjection
    /// The key encoder's modules: the state's `key.*` tensors are loaded into them for the key
    /// forward; never trained.
    public let keyEncoder: VisionTransformer
    public let keyNeck: ReLUProjection
    /// Unit-norm random keys the queue starts from (`torch.randn(feat_dim, K)` normalised).
    let initialQueue: Tensor

    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), methodName: String = "mocov2",
                dtype: DType = .float32, rng: inout RandomStream) {
        self.methodName = methodName
        precondition(config.queueSize > 0 && config.outputs > 0 && config.hidden > 0, "MoCo-v2 needs positive sizes")
        self.config = config
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        neck = ReLUProjection(inputs: encoderConfig.dimension, hidden: config.hidden, outputs: config.outputs,
                              initialisation: .kaimingNormal, dtype: dtype, rng: &rng)
        initialQueue = MomentumContrast.randomQueue(size: config.queueSize, width: config.outputs, dtype: dtype, rng: &rng)
        var unused = RandomStream(seed: 0)
        keyEncoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &unused)
        keyNeck = ReLUProjection(inputs: encoderConfig.dimension, hidden: config.hidden, outputs: config.outputs,
                                 initialisation: .kaimingNormal, dtype: dtype, rng: &unused)
        keyEncoder.setTrainable(false)
        keyNeck.setTrainable(false)
    }

    public func namedParameters() -> [(String, Tensor)] {
        encoder.namedParameters(prefix: "backbone") + neck.namedParameters(prefix: "neck.mlp")
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    /// The two views of MoCo-v2's `aug_plus` at the budget's size and normalisation.
    public static func recipe(size: Int, mean: [Float], std: [Float]) -> MultiCropRecipe {
        var recipe = MultiCropRecipe.mocoV2(size: size)
        for i in recipe.views.indices {
            recipe.views[i].mean = mean
            recipe.views[i].std = std
        }
        return recipe
    }

    /// The key encoder starts as a copy of the query encoder (`init_weights`), the queue as unit
    /// random keys, its pointer at 0.
    public func initialState() -> ObjectiveState {
        MomentumContrast.keyState(namedParameters()) + MomentumContrast.queueState("queue", initialQueue)
    }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        precondition(batch.views.count == 2, "MoCo-v2 contrasts 2 views, got \(batch.views.count)")
        let (queue, pointer) = MomentumContrast.queue("queue", in: state)
        let key = MomentumContrast.updatedKey(state, query: namedParameters(), momentum: config.momentum)   // Eq. (1)
        let q = neck(MomentumContrast.patchTokens(encoder, batch.views[0].images).mean(axes: [1])).l2Normalized()  // Eq. (2)
        let k = keys(batch.views[1].images, keyEncoder: key)
        let loss = MomentumContrast.infoNCE(query: q, positive: k, queue: queue, temperature: config.temperature)  // Eq. (3)
        let nextQueue = MomentumContrast.enqueue(k, into: queue, at: pointer)                            // Eq. (4)
        return ObjectiveStep(loss: loss, terms: [("contrast", loss.item)]) {
            ObjectiveState(key) + MomentumContrast.queueState("queue", nextQueue.queue, pointer: nextQueue.pointer)
        }
    }

    /// The unit keys [B, C] of `images` by the key encoder `key` (`key.<name>` tensors), no gradient.
    public func keys(_ images: Tensor, keyEncoder key: [(String, Tensor)]) -> Tensor {
        EMA.apply(key.map(\.1), to: ModuleList((keyEncoder.namedParameters() + keyNeck.namedParameters()).map(\.1)))
        return Tensor.withoutGrad {
            keyNeck(MomentumContrast.patchTokens(keyEncoder, images).mean(axes: [1])).l2Normalized()
        }
    }

    // MARK: FLOPs

    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, tokens = c.patchCount + (c.clsToken ? 1 : 0)
        let forward = FlopCount.encoder(c, patches: c.patchCount, tokens: tokens)
        let head = FlopCount.matmul(1, config.hidden, c.dimension) + FlopCount.matmul(1, config.outputs, config.hidden)
        let contrast = FlopCount.matmul(1, config.queueSize, config.outputs)
        // Query: forward + backward; key: forward only.
        return (4 * forward, 4 * forward + 4 * head + 3 * contrast)
    }
}

/// What MoCo-v2 and DenseCL share: the key encoder as state, the queues, InfoNCE.
public enum MomentumContrast {
    /// The final-block patch tokens after the final LN, without CLS: [B, N, D] (spec §5 a).
    public static func patchTokens(_ encoder: VisionTransformer, _ images: Tensor) -> Tensor {
        var none: RandomStream? = nil
        let tokens = encoder.encode(encoder.prependCls(encoder.embed(images)), dropPathRNG: &none)
        return encoder.config.clsToken ? tokens.slice(axis: 1, 1..<tokens.shape[1]) : tokens
    }

    /// `torch.randn(C, K)` normalised along C, stored as K rows of C: [K, C].
    public static func randomQueue(size: Int, width: Int, dtype: DType, rng: inout RandomStream) -> Tensor {
        Tensor((0..<(size * width)).map { _ in rng.nextNormal() }, shape: [size, width], dtype: dtype).l2Normalized()
    }

    /// Every query tensor copied as `key.<name>`.
    static func keyState(_ query: [(String, Tensor)]) -> ObjectiveState {
        ObjectiveState(query.map { ("key.\($0.0)", $0.1.detached().copy()) })
    }

    /// A queue and its pointer (a [1] tensor holding the next row to write) as state entries.
    static func queueState(_ name: String, _ queue: Tensor, pointer: Int = 0) -> ObjectiveState {
        ObjectiveState([(name, queue), ("\(name)_pointer", Tensor([Double(pointer)], shape: [1], dtype: queue.dtype))])
    }

    public static func queue(_ name: String, in state: ObjectiveState) -> (queue: Tensor, pointer: Int) {
        guard let queue = state[name], let pointer = state["\(name)_pointer"] else {
            preconditionFailure("the state has no \(name) or \(name)_pointer")
        }
        let p = Int(pointer.floats[0])
        precondition(p >= 0 && p < queue.shape[0] && Double(p) == Double(pointer.floats[0]), "\(name)_pointer \(pointer.floats[0]) is not a row of \(queue.shape)")
        return (queue, p)
    }

    /// Eq. (1): `key.<name>` ← m·key + (1 − m)·query, as new tensors in the state's order.
    public static func updatedKey(_ state: ObjectiveState, query: [(String, Tensor)], momentum: Double) -> [(String, Tensor)] {
        let key = state.group("key")
        precondition(key.map(\.0) == query.map(\.0), "the key encoder's tensors do not match the query encoder's")
        let updated = EMA.updated(teacher: key.map(\.1), student: query.map(\.1), momentum: momentum)
        return zip(key, updated).map { ("key.\($0.0.0)", $0.1) }
    }

    /// `ContrastiveHead`: CE over [q·k⁺, q·Q] / τ with target 0, averaged over the rows.
    /// query [M, C] (trained), positive [M, C] (constant), queue [K, C] (constant).
    public static func infoNCE(query: Tensor, positive: Tensor, queue: Tensor, temperature: Double) -> Tensor {
        precondition(query.shape == positive.shape && query.rank == 2 && queue.shape[1] == query.shape[1],
                     "InfoNCE: query \(query.shape), positive \(positive.shape), queue \(queue.shape)")
        let positiveLogit = (query * positive).sum(axes: [1], keepDims: true)                 // [M, 1]
        let negativeLogits = Tensor.matmul(query, queue, transposeB: true)                     // [M, K]
        let logits = Tensor.concat([positiveLogit, negativeLogits], axis: 1) / temperature
        return logits.crossEntropy(labels: [Int](repeating: 0, count: query.shape[0]))
    }

    /// `_dequeue_and_enqueue`: the rows `pointer..<pointer+B` replaced by `keys` [B, C]; the
    /// pointer moves on by B, modulo K (K is a multiple of B, so a batch never straddles the end).
    public static func enqueue(_ keys: Tensor, into queue: Tensor, at pointer: Int) -> (queue: Tensor, pointer: Int) {
        let b = keys.shape[0], size = queue.shape[0], width = queue.shape[1]
        precondition(keys.rank == 2 && keys.shape[1] == width, "keys \(keys.shape) do not fit the queue \(queue.shape)")
        precondition(size % b == 0, "the queue length \(size) must be a multiple of the batch size \(b)")
        let next = queue.detached().copy()
        let source = keys.detached().copy()
        memcpy(next.storage.raw + pointer * width * queue.dtype.byteSize, source.storage.raw, b * width * queue.dtype.byteSize)
        return (next, (pointer + b) % size)
    }
}

extension ObjectiveState {
    /// The entries of both states, `self` first.
    static func + (a: ObjectiveState, b: ObjectiveState) -> ObjectiveState { ObjectiveState(a.tensors + b.tensors) }
}
