// Patch-level Representation Learning for Self-supervised Vision Transformers (Yun et al., CVPR
// 2022, "SelfPatch"); reference code alinlab/SelfPatch (main_selfpatch.py `DINOLoss` and
// `train_one_epoch`, selfpatch_vision_transformer.py `SelfPatchHead`, `get_local_index`).
// Spec: shared/specs/selfpatch-densecl.md §2, §5, §6.
//
// Equations, in the order a step realises them (DINO's Eqs. (3), (5), (6) and schedules apply):
//   (1) X = f(x_v)                                   backbone without CLS and final norm, every crop
//   (2) student: cls_s = CA₂(CA₁(cls₀; X_s); X_s); [ĉ_s; x̂_s] = LN([cls_s; X_s])   patches not aggregated
//   (3) teacher: P(i) = top-k of the 3×3 neighbours N(i) (wrapping at borders) by cos(X_t,i, X_t,j)
//   (4) y_i = CA₂(CA₁(cls₀; X_t[P(i)]); X_t[P(i)]);  [ĉ_t; ŷ] = LN([CA over X_t; y])
//   (5) L_cls = DINO's loss on h_c(ĉ), teacher targets from the 2 global crops
//   (6) L_patch = mean over crops v of mean_{b,i} −Σ q log p, q = softmax((h_p(ŷ_v,i) − c_p)/τ_t),
//       p = log softmax(h_p(x̂_v,i)/τ_s): teacher and student on the SAME crop
//   (7) L = L_cls + λ·L_patch, λ = 0.1
//   (8) c ← EMA of the teacher CLS outputs of ALL crops; c_p ← EMA of the mean over all patches
// The `dino-ca` arm is this objective with λ = 0 (no patch head): DINO's loss on SelfPatch's
// architecture, which separates the loss from the architecture change (spec §6 q2).
import Datasets
import Foundation
import Layers
import TensorCore

/// SelfPatch's aggregation module: a learned cls vector, two class-attention blocks and a
/// LayerNorm (keys cls_token, cls_blocks.{0,1}.*, norm.*).
public final class SelfPatchHead: Module {
    public let clsToken: Tensor
    public let blocks: [ClassAttentionBlock]
    public let norm: LayerNorm

    public init(dimension: Int, heads: Int, dtype: DType = .float32, rng: inout RandomStream) {
        blocks = (0..<2).map { _ in ClassAttentionBlock(dimension, heads: heads, dtype: dtype, rng: &rng) }
        clsToken = Initializer.truncatedNormal([1, 1, dimension], std: 0.02, dtype: dtype, rng: &rng)
        norm = LayerNorm(dimension, eps: 1e-6, dtype: dtype)
    }

    /// cls₀ aggregated over tokens [n, T, D] → [n, 1, D] (before the norm).
    func aggregate(_ tokens: Tensor) -> Tensor {
        var cls = clsToken + Tensor.zeros([tokens.shape[0], 1, tokens.shape[2]], dtype: tokens.dtype)
        for block in blocks { cls = block(tokens, cls: cls) }
        return cls
    }

    /// Student (Eq. 2): tokens [n, N, D] → LN([cls; tokens]) [n, 1 + N, D].
    public func student(_ tokens: Tensor) -> Tensor {
        norm(Tensor.concat([aggregate(tokens), tokens], axis: 1))
    }

    /// Teacher (Eqs. 3–4): each patch replaced by the aggregate of its `k` most similar
    /// neighbours; tokens [n, N, D] on a g×g grid → LN([cls; y]) [n, 1 + N, D].
    public func teacher(_ tokens: Tensor, grid: Int, k: Int) -> Tensor {
        let n = tokens.shape[0], patches = tokens.shape[1], d = tokens.shape[2]
        let table = SelfPatch.neighbourTable(grid: grid)
        precondition(table.count == patches, "teacher tokens \(tokens.shape) do not fill a \(grid)×\(grid) grid")
        let unit = tokens.l2Normalized().floats
        var rows: [Int] = []
        rows.reserveCapacity(n * patches * k)
        for s in 0..<n {
            for i in 0..<patches {
                let a = (s * patches + i) * d
                let similarity = table[i].map { j -> Float in
                    let b = (s * patches + j) * d
                    var dot: Float = 0
                    for c in 0..<d { dot += unit[a + c] * unit[b + c] }
                    return dot
                }
                // topk: the k largest, most similar first (ties: the lower slot first).
                let order = similarity.indices.sorted { similarity[$0] > similarity[$1] || (similarity[$0] == similarity[$1] && $0 < $1) }
                for slot in order.prefix(k) { rows.append(s * patches + table[i][slot]) }
            }
        }
        let neighbours = tokens.reshaped([n * patches, d]).gatherRows(rows).reshaped([n * patches, k, d])
        let local = aggregate(neighbours).reshaped([n, patches, d])
        return norm(Tensor.concat([aggregate(tokens), local], axis: 1))
    }

    public func namedParameters() -> [(String, Tensor)] {
        [("cls_token", clsToken)] + blocks.enumerated().flatMap { $0.element.namedParameters(prefix: "cls_blocks.\($0.offset)") }
            + norm.namedParameters(prefix: "norm")
    }
}

public final class SelfPatch: Objective, Module {
    public struct Config: Codable, Equatable, Sendable {
        /// What SelfPatch shares with DINO: head sizes (its CLS head), temperatures, centre and
        /// teacher momentum, schedules, clipping, frozen last layers, views.
        public var dino = DINO.Config()
        /// The patch head's outputs (official 4096; spec §5: 256–1024 at tiny scale, as it runs
        /// per token per crop).
        public var patchOutputs: Int = 256
        /// λ (Eq. 7); 0 gives the `dino-ca` arm (no patch head).
        public var patchLossWeight: Double = 0.1
        /// k of the 8 neighbours (Eq. 3).
        public var neighbours: Int = 4

        public init() {}
    }

    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    public let aggregation: SelfPatchHead
    public let clsHead: DINOHead
    /// nil for `dino-ca`.
    public let patchHead: DINOHead?
    let teacherEncoder: VisionTransformer
    let teacherAggregation: SelfPatchHead
    let teacherClsHead: DINOHead
    let teacherPatchHead: DINOHead?

    /// The encoder must have no CLS token and no final norm (the aggregation module has them).
    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), methodName: String = "selfpatch",
                dtype: DType = .float32, rng: inout RandomStream) {
        precondition(!encoderConfig.clsToken && !encoderConfig.hasFinalNorm,
                     "SelfPatch's backbone has no CLS token and no final norm")
        self.methodName = methodName
        self.config = config
        let c = config.dino, d = encoderConfig.dimension
        func build(_ dropPath: Double, _ rng: inout RandomStream) -> (VisionTransformer, SelfPatchHead, DINOHead, DINOHead?) {
            var e = encoderConfig
            e.dropPath = dropPath
            let backbone = VisionTransformer(e, dtype: dtype, rng: &rng)
            let head = SelfPatchHead(dimension: d, heads: encoderConfig.heads, dtype: dtype, rng: &rng)
            let cls = DINOHead(inputs: d, hidden: c.hidden, bottleneck: c.bottleneck, outputs: c.outputs, dtype: dtype, rng: &rng)
            let patch = config.patchLossWeight > 0
                ? DINOHead(inputs: d, hidden: c.hidden, bottleneck: c.bottleneck, outputs: config.patchOutputs, dtype: dtype, rng: &rng)
                : nil
            return (backbone, head, cls, patch)
        }
        (encoder, aggregation, clsHead, patchHead) = build(c.dropPath, &rng)
        var unused = RandomStream(seed: 0)
        (teacherEncoder, teacherAggregation, teacherClsHead, teacherPatchHead) = build(0, &unused)
        for p in teacherModules.map(\.1) { p.setRequiresGrad(false) }
    }

    static func modules(_ backbone: VisionTransformer, _ head: SelfPatchHead, _ cls: DINOHead, _ patch: DINOHead?)
        -> [(String, Tensor)]
    {
        backbone.namedParameters(prefix: "backbone") + head.namedParameters(prefix: "ca_head")
            + cls.namedParameters(prefix: "c_head") + (patch?.namedParameters(prefix: "p_head") ?? [])
    }

    public func namedParameters() -> [(String, Tensor)] { Self.modules(encoder, aggregation, clsHead, patchHead) }
    var teacherModules: [(String, Tensor)] {
        Self.modules(teacherEncoder, teacherAggregation, teacherClsHead, teacherPatchHead)
    }
    public func encoderExtras() -> [(String, Tensor)] { [] }

    /// The 8 neighbours of every patch on a g×g grid (get_local_index with k_size 3): the 3×3
    /// window around it with indices taken modulo g — the window wraps around the borders, as in
    /// the official code — minus the patch itself, in ascending index order. Defined for g ≥ 3.
    public static func neighbourTable(grid g: Int) -> [[Int]] {
        precondition(g >= 3, "the 3×3 neighbourhood needs a grid of at least 3×3, got \(g)")
        return (0..<(g * g)).map { i in
            let (row, column) = (i / g, i % g)
            var cells = Set<Int>()
            for dr in -1...1 { for dc in -1...1 { cells.insert(((row + dr + g) % g) * g + (column + dc + g) % g) } }
            cells.remove(i)
            return cells.sorted()
        }
    }

    // MARK: State and optimisation (DINO's rules)

    public func initialState() -> ObjectiveState {
        let dtype = encoder.patchEmbed.namedParameters()[0].1.dtype
        var tensors = namedParameters().map { ("teacher.\($0.0)", $0.1.detached().copy()) }
        tensors.append(("center", Tensor.zeros([1, config.dino.outputs], dtype: dtype)))
        if patchHead != nil { tensors.append(("patch_center", Tensor.zeros([1, config.patchOutputs], dtype: dtype))) }
        return ObjectiveState(tensors)
    }

    func loadTeacher(_ state: ObjectiveState) {
        let teacher = state.group("teacher")
        let modules = teacherModules
        precondition(teacher.count == modules.count, "\(methodName) state holds \(teacher.count) teacher tensors, the teacher has \(modules.count)")
        EMA.apply(teacher.map(\.1), to: ModuleList(modules.map(\.1)))
    }

    public func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup] {
        DINO.parameterGroups(config.dino, parameters: namedParameters(), plan: plan)
    }

    /// torch's AdamW defaults, as DINO (main_selfpatch.py passes no betas).
    public var adam: AdamSettings? { AdamSettings.torchDefaults }

    // MARK: Step

    /// Backbone + aggregation + heads on one resolution's crops (the official loop calls the model
    /// once on the globals and once on the locals): (CLS logits [n, K], patch logits [n·N, Kp]).
    public func forward(_ images: Tensor, backbone: VisionTransformer, head: SelfPatchHead, cls: DINOHead, patch: DINOHead?,
                 teacher: Bool, dropPathRNG: inout RandomStream?) -> (cls: Tensor, patches: Tensor?) {
        let tokens = backbone.encode(backbone.embed(images), dropPathRNG: &dropPathRNG)          // Eq. (1)
        let n = images.shape[0], patches = tokens.shape[1], d = tokens.shape[2]
        let grid = images.shape[2] / backbone.config.patchSize
        let out = teacher && patch != nil ? head.teacher(tokens, grid: grid, k: config.neighbours)   // Eqs. (3)–(4)
            : head.student(tokens)                                                                   // Eq. (2)
        let clsLogits = cls(out.slice(axis: 1, 0..<1).reshaped([n, d]))
        let patchLogits = patch.map { $0(out.slice(axis: 1, 1..<(patches + 1)).reshaped([n * patches, d])) }
        return (clsLogits, patchLogits)
    }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        let b = batch.count, crops = batch.views.count, c = config.dino
        precondition(crops >= 2, "\(methodName) needs 2 global crops, got \(crops) views")
        guard let center = state["center"] else { preconditionFailure("\(methodName) state has no centre") }
        loadTeacher(state)
        var none: RandomStream? = nil
        var dropPath: RandomStream? = c.dropPath > 0 ? rng : nil
        // Per crop: CLS logits [B, K] and patch logits [B·N_v, Kp], teacher on every crop.
        var teacherCls: [Tensor] = [], teacherPatches: [Tensor] = [], studentCls: [Tensor] = [], studentPatches: [Tensor] = []
        for group in batch.resolutionGroups {
            let images = batch.images(group)
            let t = Tensor.withoutGrad {
                forward(images, backbone: teacherEncoder, head: teacherAggregation, cls: teacherClsHead, patch: teacherPatchHead,
                        teacher: true, dropPathRNG: &none)
            }
            let s = forward(images, backbone: encoder, head: aggregation, cls: clsHead, patch: patchHead, teacher: false,
                            dropPathRNG: &dropPath)
            for (j, _) in group.enumerated() {
                teacherCls.append(t.cls.slice(axis: 0, (j * b)..<((j + 1) * b)))
                studentCls.append(s.cls.slice(axis: 0, (j * b)..<((j + 1) * b)))
                if let tp = t.patches, let sp = s.patches {
                    let rows = tp.shape[0] / group.count
                    teacherPatches.append(tp.slice(axis: 0, (j * rows)..<((j + 1) * rows)))
                    studentPatches.append(sp.slice(axis: 0, (j * rows)..<((j + 1) * rows)))
                }
            }
        }
        if let advanced = dropPath { rng = advanced }

        let tau = DINO.teacherTemperature(c, epoch: context.epoch)
        var clsLoss: Tensor? = nil
        var clsTerms = 0
        for g in 0..<2 {                                                                           // Eq. (5)
            let q = Tensor.withoutGrad { ((teacherCls[g] - center) * (1 / tau)).softmax() }
            for v in 0..<crops where v != g {
                // Each chunk divided by τ_s per term, as main_selfpatch.py's DINOLoss does.
                let term = (studentCls[v] * (1 / c.studentTemperature)).crossEntropy(softTargets: q)
                clsLoss = clsLoss.map { $0 + term } ?? term
                clsTerms += 1
            }
        }
        let cls = clsLoss! * (1 / Double(clsTerms))
        var loss = cls
        var terms: [(String, Double)] = [("cls", cls.item)]
        var nextPatchCenter: Tensor? = nil
        if patchHead != nil, let patchCenter = state["patch_center"] {
            var patchLoss: Tensor? = nil
            for v in 0..<crops {                                                                   // Eq. (6)
                let q = Tensor.withoutGrad { ((teacherPatches[v] - patchCenter) * (1 / tau)).softmax() }
                let term = (studentPatches[v] * (1 / c.studentTemperature)).crossEntropy(softTargets: q)
                patchLoss = patchLoss.map { $0 + term } ?? term
            }
            let patch = patchLoss! * (1 / Double(crops))
            loss = cls + patch * config.patchLossWeight                                            // Eq. (7)
            terms.append(("patch", patch.item))
            nextPatchCenter = DINO.movingCenter(patchCenter, outputs: Tensor.concat(teacherPatches, axis: 0),  // Eq. (8)
                                                momentum: c.centerMomentum)
        }
        let nextCenter = DINO.movingCenter(center, outputs: Tensor.concat(teacherCls, axis: 0), momentum: c.centerMomentum)
        let momentum = DINO.teacherMomentum(c, context)
        let teacherTensors = state.group("teacher")
        terms += [("teacher_temperature", tau), ("momentum", momentum)]
        return ObjectiveStep(loss: loss, terms: terms) { [self] in
            let updated = EMA.updated(teacher: teacherTensors.map(\.1), student: namedParameters().map(\.1), momentum: momentum)
            var tensors = zip(teacherTensors, updated).map { ("teacher.\($0.0.0)", $0.1) } + [("center", nextCenter)]
            if let nextPatchCenter { tensors.append(("patch_center", nextPatchCenter)) }
            return ObjectiveState(tensors)
        }
    }

    /// The teacher's backbone (patch tokens, no CLS, no final norm), as the authors evaluate it.
    public func exportedEncoder(state: ObjectiveState) -> (encoder: VisionTransformer, extras: [(String, Tensor)]) {
        loadTeacher(state)
        return (teacherEncoder, [])
    }

    public var flopsPerImage: (encoder: Double, total: Double) {
        let e = encoder.config, p = e.patchSize, c = config.dino
        let global = e.patchCount, local = (c.localSize / p) * (c.localSize / p)
        let backbone = 2 * FlopCount.encoder(e, patches: global, tokens: global)
            + Double(c.localCrops) * FlopCount.encoder(e, patches: local, tokens: local)
        let encoderShare = 3 * backbone + backbone   // student forward + backward, teacher forward on every crop
        let head = FlopCount.matmul(1, c.hidden, e.dimension) + FlopCount.matmul(1, c.hidden, c.hidden)
            + FlopCount.matmul(1, c.bottleneck, c.hidden)
        let tokens = Double(2 * global + c.localCrops * local)
        let crops = Double(2 + c.localCrops)
        let clsHeads = crops * (head + FlopCount.matmul(1, c.outputs, c.bottleneck))
        let patchHeads = patchHead == nil ? 0 : tokens * (head + FlopCount.matmul(1, config.patchOutputs, c.bottleneck))
        // The aggregation module's two class-attention blocks: over each crop's tokens for the
        // CLS (student and teacher), and in the teacher over each patch's k neighbours (Eq. 3).
        func aggregate(_ t: Int) -> Double { 2 * FlopCount.classAttention(tokens: t, width: e.dimension, heads: e.heads) }
        let clsAggregation = 2 * aggregate(global) + Double(c.localCrops) * aggregate(local)
        let patchAggregation = patchHead == nil ? 0 : tokens * aggregate(config.neighbours)
        let aggregation = 3 * clsAggregation + clsAggregation + patchAggregation  // student forward + backward, teacher forward
        return (encoderShare, encoderShare + aggregation + 4 * (clsHeads + patchHeads))
    }
}
