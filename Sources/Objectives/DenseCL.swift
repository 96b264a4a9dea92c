// Dense Contrastive Learning for Self-Supervised Visual Pre-Training (Wang et al., CVPR 2021,
// "DenseCL"), arXiv:2011.09157; reference code WXinlong/DenseCL (openselfsup/models/densecl.py
// `DenseCL.forward_train`, necks.py `DenseCLNeck`, heads/contrastive_head.py `ContrastiveHead`,
// hooks/densecl_warmup_hook.py). Spec: shared/specs/selfpatch-densecl.md §4, §5.
//
// Equations, in the order a step realises them (MoCo-v2's Eqs. (1)–(4) are the global branch):
//   (1) θ_k ← m·θ_k + (1 − m)·θ_q                       key encoder and neck, before the keys
//   (2) F = f(x) ∈ ℝ^{S²×D}                              final patch tokens after the LN, no CLS
//   (3) q = ‖g(GAP(F₁))‖;  r = ‖h(F₁)‖ ∈ ℝ^{S²×C};  k, t = the same from the key encoder on x₂;
//       k₂ = ‖GAP(h_k(F₂))‖                               h: DenseCL's 1×1-conv head, per token
//   (4) m(s) = argmax_j ⟨‖F₁,s‖, ‖F₂,j‖⟩                  correspondence on BACKBONE tokens
//   (5) L_g = CE([q·k, q·Q] / τ, 0)
//   (6) L_d = mean over the B·S² locations of CE([r_s·t_{m(s)}, r_s·Q₂] / τ, 0)
//   (7) L = (1 − λ)·L_g + λ·L_d;  λ = 0 for the first N = denseWarmupSteps steps (N = 0: off)
//   (8) Q ← enqueue k;  Q₂ ← enqueue k₂                  after the loss
// Diagnostics per step (spec §5 e): the fraction of matches m(s) = s (same token index), and
// the fraction whose two patches show a common area of the source image (crop geometry).
import Datasets
import Foundation
import Layers
import TensorCore

public final class DenseCL: Objective, Module {
    public struct Config: Codable, Equatable, Sendable {
        /// Everything DenseCL shares with its baseline (neck widths, τ, queue, m): the arms
        /// differ only in the dense branch.
        public var moco = MoCoV2.Config()
        /// λ (Eq. 7), the released configs' 0.5.
        public var denseLossWeight: Double = 0.5
        /// `DenseCLWarmupHook(start_iters)`: λ = 0 for the steps before this one. 0 (off) as
        /// in every released config; the paper describes a warm-up, the author suggests ≈1–3 %
        /// of the steps (spec §4, §6 q7).
        public var denseWarmupSteps: Int = 0

        public init() {}
    }

    /// The method-table name encoder.h5 records (an arm passes its own).
    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    /// `DenseCLNeck.mlp` (global, Kaiming as MoCo-v2's) and `mlp2` (dense, PyTorch's default init).
    public let neck: ReLUProjection
    public let denseNeck: ReLUProjection
    /// The key encoder's modules (the state's `key.*` tensors are loaded into them; never trained).
    public let keyEncoder: VisionTransformer
    public let keyNeck: ReLUProjection
    public let keyDenseNeck: ReLUProjection
    let initialQueues: (global: Tensor, dense: Tensor)

    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), methodName: String = "densecl",
                dtype: DType = .float32, rng: inout RandomStream) {
        self.methodName = methodName
        let m = config.moco
        precondition(m.queueSize > 0 && m.outputs > 0 && m.hidden > 0, "DenseCL needs positive sizes")
        self.config = config
        let d = encoderConfig.dimension
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        neck = ReLUProjection(inputs: d, hidden: m.hidden, outputs: m.outputs, initialisation: .kaimingNormal, dtype: dtype, rng: &rng)
        denseNeck = ReLUProjection(inputs: d, hidden: m.hidden, outputs: m.outputs, initialisation: .torchDefault, dtype: dtype, rng: &rng)
        initialQueues = (MomentumContrast.randomQueue(size: m.queueSize, width: m.outputs, dtype: dtype, rng: &rng),
                         MomentumContrast.randomQueue(size: m.queueSize, width: m.outputs, dtype: dtype, rng: &rng))
        var unused = RandomStream(seed: 0)
        keyEncoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &unused)
        keyNeck = ReLUProjection(inputs: d, hidden: m.hidden, outputs: m.outputs, initialisation: .kaimingNormal, dtype: dtype, rng: &unused)
        keyDenseNeck = ReLUProjection(inputs: d, hidden: m.hidden, outputs: m.outputs, initialisation: .torchDefault, dtype: dtype,
                                      rng: &unused)
        for module in [keyEncoder, keyNeck, keyDenseNeck] as [Module] { module.setTrainable(false) }
    }

    public func namedParameters() -> [(String, Tensor)] {
        encoder.namedParameters(prefix: "backbone") + neck.namedParameters(prefix: "neck.mlp")
            + denseNeck.namedParameters(prefix: "neck.mlp2")
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    public func initialState() -> ObjectiveState {
        MomentumContrast.keyState(namedParameters()) + MomentumContrast.queueState("queue", initialQueues.global)
            + MomentumContrast.queueState("queue2", initialQueues.dense)
    }

    /// λ of a step (Eq. 7 with the warm-up hook).
    public func denseWeight(_ context: StepContext) -> Double {
        context.step >= config.denseWarmupSteps ? config.denseLossWeight : 0
    }

    /// Eq. (4): for every sample and query location the key location of the most similar
    /// backbone token (cosine; the first on ties, as torch's max). queryTokens, keyTokens [B, S², D].
    public static func correspondence(queryTokens: Tensor, keyTokens: Tensor) -> [[Int]] {
        precondition(queryTokens.shape == keyTokens.shape && queryTokens.rank == 3,
                     "correspondence: query \(queryTokens.shape) and key \(keyTokens.shape) tokens must be [B, S², D] alike")
        return Tensor.withoutGrad {
            let similarity = Tensor.matmul(queryTokens.l2Normalized(), keyTokens.l2Normalized(), transposeB: true).floats
            let b = queryTokens.shape[0], n = queryTokens.shape[1]
            return (0..<b).map { sample in
                (0..<n).map { s in
                    let row = (sample * n + s) * n
                    var best = 0
                    for j in 1..<n where similarity[row + j] > similarity[row + best] { best = j }
                    return best
                }
            }
        }
    }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        precondition(batch.views.count == 2, "DenseCL contrasts 2 views, got \(batch.views.count)")
        let m = config.moco
        let (queue, pointer) = MomentumContrast.queue("queue", in: state)
        let (queue2, pointer2) = MomentumContrast.queue("queue2", in: state)
        let key = MomentumContrast.updatedKey(state, query: namedParameters(), momentum: m.momentum)            // Eq. (1)
        EMA.apply(key.map(\.1), to: ModuleList((keyEncoder.namedParameters() + keyNeck.namedParameters()
                                                + keyDenseNeck.namedParameters()).map(\.1)))

        let queryTokens = MomentumContrast.patchTokens(encoder, batch.views[0].images)                         // Eq. (2)
        let q = neck(queryTokens.mean(axes: [1])).l2Normalized()                                                // Eq. (3)
        let r = denseNeck(queryTokens).l2Normalized()                                                           // [B, S², C]
        let (keyTokens, k, t, k2) = Tensor.withoutGrad {
            let tokens = MomentumContrast.patchTokens(keyEncoder, batch.views[1].images)
            let dense = keyDenseNeck(tokens)
            return (tokens, keyNeck(tokens.mean(axes: [1])).l2Normalized(), dense.l2Normalized(),
                    dense.mean(axes: [1]).l2Normalized())
        }
        let matches = Self.correspondence(queryTokens: queryTokens.detached(), keyTokens: keyTokens)             // Eq. (4)
        let b = queryTokens.shape[0], n = queryTokens.shape[1]
        let positives = t.gatherTokens(matches)                                                                 // [B, S², C]

        let global = MomentumContrast.infoNCE(query: q, positive: k, queue: queue, temperature: m.temperature)   // Eq. (5)
        let dense = MomentumContrast.infoNCE(query: r.reshaped([b * n, m.outputs]),                             // Eq. (6)
                                             positive: positives.reshaped([b * n, m.outputs]), queue: queue2,
                                             temperature: m.temperature)
        let lambda = denseWeight(context)
        let loss = global * (1 - lambda) + dense * lambda                                                       // Eq. (7)

        let nextQueue = MomentumContrast.enqueue(k, into: queue, at: pointer)                                    // Eq. (8)
        let nextQueue2 = MomentumContrast.enqueue(k2, into: queue2, at: pointer2)
        let diagnostics = Self.matchDiagnostics(matches, query: batch.views[0].geometry, key: batch.views[1].geometry,
                                                grid: encoder.config.grid)
        return ObjectiveStep(loss: loss, terms: [("global", global.item), ("dense", dense.item), ("lambda", lambda),
                                                 ("identity_matches", diagnostics.identity),
                                                 ("overlapping_matches", diagnostics.overlapping)]) {
            ObjectiveState(key) + MomentumContrast.queueState("queue", nextQueue.queue, pointer: nextQueue.pointer)
                + MomentumContrast.queueState("queue2", nextQueue2.queue, pointer: nextQueue2.pointer)
        }
    }

    /// The fraction of matches that pair a token with the same index, and of those whose two
    /// patches show a common area of the source image.
    public static func matchDiagnostics(_ matches: [[Int]], query: [CropGeometry], key: [CropGeometry], grid: Int)
        -> (identity: Double, overlapping: Double)
    {
        precondition(matches.count == query.count && matches.count == key.count, "one geometry per sample")
        var identity = 0, overlapping = 0, total = 0
        for (sample, row) in matches.enumerated() {
            for (s, j) in row.enumerated() {
                total += 1
                if s == j { identity += 1 }
                if query[sample].overlaps(patch: s, of: key[sample], patch: j, grid: grid) { overlapping += 1 }
            }
        }
        return (Double(identity) / Double(max(total, 1)), Double(overlapping) / Double(max(total, 1)))
    }

    // MARK: FLOPs

    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, m = config.moco, s = c.patchCount, tokens = s + (c.clsToken ? 1 : 0)
        let forward = FlopCount.encoder(c, patches: s, tokens: tokens)
        let head = FlopCount.matmul(1, m.hidden, c.dimension) + FlopCount.matmul(1, m.outputs, m.hidden)
        let contrast = FlopCount.matmul(1, m.queueSize, m.outputs)
        let match = FlopCount.matmul(s, s, c.dimension)
        // Query: forward + backward of the encoder, both heads (dense per token) and both contrasts;
        // key: forward of the encoder and both heads.
        let heads = (3 + 1) * head * Double(1 + s)
        return (4 * forward, 4 * forward + heads + 3 * contrast * Double(1 + s) + match)
    }
}
