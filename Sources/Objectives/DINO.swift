// Emerging Properties in Self-Supervised Vision Transformers (Caron et al.), arXiv:2104.14294;
// reference code facebookresearch/dino (main_dino.py `DINOLoss`, `train_one_epoch`, utils.py
// `cosine_scheduler`; vision_transformer.py `DINOHead`). Spec: shared/specs/selfpatch-densecl.md
// §1 (the method), §5 (the tiny-ViT adaptation).
//
// Equations, in the order a step realises them:
//   (1) z_s = h_s(f_s(x_v)) for every crop v                 student on all crops
//   (2) z_t = h_t(f_t(x_g)) for the 2 global crops g           teacher, no gradient
//   (3) P_t = softmax((z_t − c) / τ_t)                         centred, sharpened; τ_t per epoch
//   (4) L = mean over pairs (g, v ≠ g) of  mean_b −Σ_k P_t log softmax(z_s / τ_s)
//   (5) c ← m_c·c + (1 − m_c)·mean_b z_t                        after the loss (both global crops)
//   (6) θ_t ← λ·θ_t + (1 − λ)·θ_s                               after the update; λ cosine 0.996 → 1
// Optimisation (the group rules of main_dino.py): learning rate linear warm-up then cosine,
// weight decay cosine 0.04 → 0.4 on tensors of rank ≥ 2 only, each gradient clipped to norm 3
// separately, the head's last layer frozen during the first epoch.
import Datasets
import Foundation
import Layers
import TensorCore

public final class DINO: Objective, Module {
    /// Hyperparameters; defaults are main_dino.py's argparse defaults, with the head scaled to
    /// the tiny ViT as spec §5 and the anchor's dino-tiny32 workload do (65536 → 1024 outputs).
    public struct Config: Codable, Equatable, Sendable {
        public var outputs: Int = 1024
        public var hidden: Int = 512
        public var bottleneck: Int = 128
        /// τ_s (Eq. 4).
        public var studentTemperature: Double = 0.1
        /// τ_t after its warm-up (Eq. 3).
        public var teacherTemperature: Double = 0.04
        public var warmupTeacherTemperature: Double = 0.04
        /// Epochs of the linear τ_t warm-up (the code's default is 0; its help text says 30).
        public var warmupTeacherTemperatureEpochs: Int = 0
        /// m_c (Eq. 5).
        public var centerMomentum: Double = 0.9
        /// λ at step 0 (Eq. 6); it follows a cosine to 1 over the run.
        public var teacherMomentum: Double = 0.996
        /// Learning rate = base · batch / 256, warm-up over this fraction of the run (10 of 100
        /// epochs), cosine to `minLearningRate`.
        public var baseLearningRate: Double = 5e-4
        public var minLearningRate: Double = 1e-6
        public var warmupFraction: Double = 0.1
        public var weightDecay: Double = 0.04
        public var weightDecayEnd: Double = 0.4
        /// Per-tensor gradient norm limit (0: no clipping).
        public var clipGradient: Double = 3.0
        /// Epochs during which the head's last layer gets no update.
        public var freezeLastLayerEpochs: Int = 1
        /// Stochastic depth of the student (the teacher has none).
        public var dropPath: Double = 0.1
        /// Views: 2 global crops at the budget's image size, `localCrops` at `localSize`; the
        /// minimum scales raised for 32 px images (spec §5; the official 0.4/0.05 and 0.4 split).
        public var localCrops: Int = 4
        public var localSize: Int = 16
        public var globalScale: [Double] = [0.35, 1.0]
        public var localScale: [Double] = [0.1, 0.35]

        public init() {}
    }

    public let methodName = "dino"
    public let config: Config
    /// The student's backbone (trained) and head.
    public let encoder: VisionTransformer
    public let head: DINOHead
    /// Modules the teacher's state is loaded into for its forward; never trained.
    let teacherEncoder: VisionTransformer
    let teacherHead: DINOHead

    /// The encoder must have a CLS token: DINO distils the CLS output.
    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), dtype: DType = .float32,
                rng: inout RandomStream) {
        precondition(encoderConfig.clsToken, "DINO distils the CLS token: the encoder needs one")
        self.config = config
        var student = encoderConfig
        student.dropPath = config.dropPath
        encoder = VisionTransformer(student, dtype: dtype, rng: &rng)
        head = DINOHead(inputs: encoderConfig.dimension, hidden: config.hidden, bottleneck: config.bottleneck,
                        outputs: config.outputs, dtype: dtype, rng: &rng)
        var teacher = encoderConfig
        teacher.dropPath = 0
        var unused = RandomStream(seed: 0)
        teacherEncoder = VisionTransformer(teacher, dtype: dtype, rng: &unused)
        teacherHead = DINOHead(inputs: encoderConfig.dimension, hidden: config.hidden, bottleneck: config.bottleneck,
                               outputs: config.outputs, dtype: dtype, rng: &unused)
        teacherEncoder.setTrainable(false)
        teacherHead.setTrainable(false)
    }

    public func namedParameters() -> [(String, Tensor)] {
        encoder.namedParameters(prefix: "backbone") + head.namedParameters(prefix: "head")
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    /// The views of main_dino.py's `DataAugmentationDINO` at the budget's size.
    public static func recipe(_ config: Config, globalSize: Int, mean: [Float], std: [Float]) -> MultiCropRecipe {
        var recipe = MultiCropRecipe.dino(globalSize: globalSize, localSize: config.localSize, localCrops: config.localCrops,
                                          globalScale: config.globalScale[0]...config.globalScale[1],
                                          localScale: config.localScale[0]...config.localScale[1])
        for i in recipe.views.indices {
            recipe.views[i].mean = mean
            recipe.views[i].std = std
        }
        return recipe
    }

    // MARK: State

    /// The teacher starts as a copy of the student (main_dino.py loads the student's state
    /// dict into it); the centre starts at 0.
    public func initialState() -> ObjectiveState {
        ObjectiveState(namedParameters().map { ("teacher.\($0.0)", $0.1.detached().copy()) }
                       + [("center", Tensor.zeros([1, config.outputs], dtype: encoder.norm.weight.dtype))])
    }

    /// Loads the state's teacher tensors into the teacher modules (a copy: the state is not shared).
    func loadTeacher(_ state: ObjectiveState) {
        let teacher = state.group("teacher")
        let modules = teacherEncoder.namedParameters(prefix: "backbone") + teacherHead.namedParameters(prefix: "head")
        precondition(teacher.count == modules.count, "DINO state holds \(teacher.count) teacher tensors, the teacher has \(modules.count)")
        EMA.apply(teacher.map(\.1), to: ModuleList(modules.map(\.1)))
    }

    // MARK: Schedules (utils.cosine_scheduler and DINOLoss.teacher_temp_schedule, precomputed)

    /// utils.cosine_scheduler: np.linspace warm-up (endpoint included) then a half cosine over
    /// the remaining steps.
    public static func cosineSchedule(base: Double, final: Double, totalSteps: Int, warmupSteps: Int,
                                      warmupStart: Double = 0) -> [Double] {
        var values: [Double] = []
        for i in 0..<warmupSteps {
            values.append(warmupSteps == 1 ? warmupStart : warmupStart + (base - warmupStart) * Double(i) / Double(warmupSteps - 1))
        }
        let rest = totalSteps - warmupSteps
        for i in 0..<max(rest, 0) { values.append(cosine(base: base, final: final, index: i, count: rest)) }
        return values
    }

    /// Element `index` of the half cosine from `base` to `final` over `count` steps.
    static func cosine(base: Double, final: Double, index: Int, count: Int) -> Double {
        final + 0.5 * (base - final) * (1 + cos(Double.pi * Double(index) / Double(count)))
    }

    /// τ_t of an epoch: np.linspace(warm-up value, τ_t, warm-up epochs), then τ_t.
    public func teacherTemperature(epoch: Int) -> Double { Self.teacherTemperature(config, epoch: epoch) }

    public static func teacherTemperature(_ config: Config, epoch: Int) -> Double {
        let w = config.warmupTeacherTemperatureEpochs
        guard epoch < w else { return config.teacherTemperature }
        if w == 1 { return config.warmupTeacherTemperature }
        return config.warmupTeacherTemperature
            + (config.teacherTemperature - config.warmupTeacherTemperature) * Double(epoch) / Double(w - 1)
    }

    /// λ of a step (Eq. 6): utils.cosine_scheduler(momentum, 1, …) without warm-up, one element.
    public func teacherMomentum(_ context: StepContext) -> Double { Self.teacherMomentum(config, context) }

    public static func teacherMomentum(_ config: Config, _ context: StepContext) -> Double {
        cosine(base: config.teacherMomentum, final: 1, index: context.step, count: context.totalSteps)
    }

    public func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup] {
        Self.parameterGroups(config, parameters: namedParameters(), plan: plan)
    }

    /// main_dino.py's `torch.optim.AdamW(params_groups)` passes no betas: torch's defaults, not
    /// the budget's (MAE's β₂ 0.95). Shared by SelfPatch (main_selfpatch.py likewise).
    public var adam: AdamSettings? { AdamSettings.torchDefaults }

    /// main_dino.py's optimisation as groups: lr base·batch/256 with a linspace warm-up then
    /// cosine, weight decay cosine on rank ≥ 2 tensors (`get_params_groups`), per-tensor clipping,
    /// and every `last_layer` tensor in its own group frozen for the first epochs
    /// (`cancel_gradients_last_layer` matches the name). Shared by SelfPatch.
    public static func parameterGroups(_ config: Config, parameters params: [(String, Tensor)],
                                       plan: OptimizerPlan) -> [ParameterGroup] {
        let total = plan.context.totalSteps
        let lr = cosineSchedule(base: config.baseLearningRate * Double(plan.batchSize) / 256,    // DINO's rule
                                final: config.minLearningRate, totalSteps: total,
                                warmupSteps: Int(Double(total) * config.warmupFraction))
        let wd = cosineSchedule(base: config.weightDecay, final: config.weightDecayEnd, totalSteps: total, warmupSteps: 0)
        let clip: ClippingRule = config.clipGradient > 0 ? .perTensor(config.clipGradient) : .none
        let last = params.filter { $0.0.contains("last_layer") }
        var groups: [ParameterGroup] = plan.decayGroups(params.filter { !$0.0.contains("last_layer") }, weightDecay: wd,
                                                        clipping: clip).map { group in
            var g = group
            g.learningRate = lr
            return g
        }
        // The last layers (rank 2: decayed), frozen for the first epochs.
        groups.append(ParameterGroup(name: "last_layer", keys: last.map(\.0), learningRate: lr, weightDecay: wd,
                                     clipping: clip, frozenUntilStep: config.freezeLastLayerEpochs * plan.context.stepsPerEpoch))
        return groups
    }

    // MARK: Step

    /// Backbone + head on crops grouped by resolution (utils.MultiCropWrapper: consecutive crops
    /// of one size run as one batch), outputs concatenated in crop order: [crops·B, K].
    public func forward(_ batch: TrainingBatch, backbone: VisionTransformer, head: DINOHead,
                        dropPathRNG: inout RandomStream?) -> Tensor {
        let outputs = batch.resolutionGroups.map { group -> Tensor in
            let images = batch.images(group)
            let tokens = backbone.encode(backbone.prependCls(backbone.embed(images)), dropPathRNG: &dropPathRNG)
            return tokens.slice(axis: 1, 0..<1).reshaped([images.shape[0], backbone.config.dimension])
        }
        return head(outputs.count == 1 ? outputs[0] : Tensor.concat(outputs, axis: 0))
    }

    /// Eq. (5): c·m + (1 − m)·(mean over the rows of `outputs`), a new tensor. Shared with
    /// SelfPatch's two centres.
    public static func movingCenter(_ center: Tensor, outputs: Tensor, momentum m: Double) -> Tensor {
        Tensor.withoutGrad {
            let mean = outputs.sum(axes: [0], keepDims: true) * (1 / Double(outputs.shape[0]))
            return (center * m + mean * (1 - m)).detached()
        }
    }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        precondition(batch.views.count >= 2, "DINO needs 2 global crops, got \(batch.views.count) views")
        let b = batch.count, crops = batch.views.count
        guard let center = state["center"] else { preconditionFailure("DINO state has no centre") }
        loadTeacher(state)
        var none: RandomStream? = nil
        let globals = TrainingBatch(views: Array(batch.views[0..<2]))
        let teacherOutput = Tensor.withoutGrad {                                                // Eq. (2)
            forward(globals, backbone: teacherEncoder, head: teacherHead, dropPathRNG: &none)
        }
        var dropPath: RandomStream? = config.dropPath > 0 ? rng : nil
        let studentOutput = forward(batch, backbone: encoder, head: head, dropPathRNG: &dropPath)  // Eq. (1)
        if let advanced = dropPath { rng = advanced }

        let tau = teacherTemperature(epoch: context.epoch)
        let targets = Tensor.withoutGrad { ((teacherOutput - center) * (1 / tau)).softmax() }  // Eq. (3)
        // main_dino.py divides the student output by τ_s once, then chunks it per crop (SelfPatch's
        // loss divides each chunk per term: a different rounding in the backward, kept as each
        // official loss has it).
        let studentLogits = studentOutput * (1 / config.studentTemperature)
        var total: Tensor? = nil
        var pairs = 0
        for g in 0..<2 {                                                                        // Eq. (4)
            let q = targets.slice(axis: 0, (g * b)..<((g + 1) * b))
            for v in 0..<crops where v != g {
                let term = studentLogits.slice(axis: 0, (v * b)..<((v + 1) * b)).crossEntropy(softTargets: q)
                total = total.map { $0 + term } ?? term
                pairs += 1
            }
        }
        let loss = total! * (1 / Double(pairs))
        let nextCenter = Self.movingCenter(center, outputs: teacherOutput, momentum: config.centerMomentum)  // Eq. (5)
        let momentum = teacherMomentum(context)
        let teacherTensors = state.group("teacher")
        return ObjectiveStep(loss: loss, terms: [("dino", loss.item), ("teacher_temperature", tau), ("momentum", momentum)]) {
            [self] in
            let updated = EMA.updated(teacher: teacherTensors.map(\.1), student: namedParameters().map(\.1),  // Eq. (6)
                                      momentum: momentum)
            return ObjectiveState(zip(teacherTensors, updated).map { ("teacher.\($0.0.0)", $0.1) } + [("center", nextCenter)])
        }
    }

    /// The teacher's backbone, as DINO's authors evaluate it.
    public func exportedEncoder(state: ObjectiveState) -> (encoder: VisionTransformer, extras: [(String, Tensor)]) {
        loadTeacher(state)
        return (teacherEncoder, [])
    }

    // MARK: FLOPs

    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, p = c.patchSize
        let global = c.patchCount, local = (config.localSize / p) * (config.localSize / p)
        let studentForward = 2 * FlopCount.encoder(c, patches: global, tokens: global + 1)
            + Double(config.localCrops) * FlopCount.encoder(c, patches: local, tokens: local + 1)
        let teacherForward = 2 * FlopCount.encoder(c, patches: global, tokens: global + 1)
        let headForward = FlopCount.matmul(1, config.hidden, c.dimension) + FlopCount.matmul(1, config.hidden, config.hidden)
            + FlopCount.matmul(1, config.bottleneck, config.hidden) + FlopCount.matmul(1, config.outputs, config.bottleneck)
        let crops = Double(2 + config.localCrops)
        let encoderShare = 3 * studentForward + teacherForward
        return (encoderShare, encoderShare + 3 * crops * headForward + 2 * headForward)
    }
}

/// Tensors viewed as a module (EMA.apply writes into a module's parameters in order).
final class ModuleList: Module {
    let tensors: [Tensor]
    init(_ tensors: [Tensor]) { self.tensors = tensors }
    func namedParameters() -> [(String, Tensor)] { tensors.enumerated().map { ("\($0.offset)", $0.element) } }
}
