import Datasets
import Evaluation
import Foundation
import Layers
import Objectives
import Results
import TensorCore

/// One row of the method table: everything PatchBench knows about a method lives here, and the
/// harness, the CLI (`--method` help, `patchbench methods`, eval's default readout), Results'
/// claims loader, the Makefile (`patchbench methods --make`) and the tests read it.
///
/// An arm (`dino-ca`, `lomar-rpe-table`) is its base method's builder with overrides.
public struct Method: Sendable, CustomStringConvertible {
    /// Run directories, `--method` and claims.json name the method by this.
    public let name: String
    /// The paper method it reproduces or is an arm of (claims.json's `base`).
    public let base: String
    public let summary: String
    /// The key of its block in a budget's `methods` (an arm shares its base's), nil: no settings.
    public let configKey: String?
    /// Part of `make reproduce-all`'s default METHODS.
    public let reproduced: Bool
    /// Pretraining images/s at `tiny` on 2 cores (Zen 5, AVX-512, quiet machine, the first
    /// 75 s of a run), for `make plan` (an arm whose step costs its base's takes the base's);
    /// nil: not trained (random-init) or not measured.
    public let tinyImagesPerSecond: Int?
    /// What the linear and k-NN probes read, as the method's authors evaluate (the dense probes
    /// read the patch grid); a last-blocks readout is fitted to the encoder's depth.
    public let linearReadout: FeatureKind
    public let knnReadout: FeatureKind
    /// Which network `encoder.h5` holds.
    public let exported: String
    /// Part of `make reproduce-ablations` (an ablation arm's own target) rather than reproduce-all.
    public var ablation: Bool = false
    /// A line `make plan` prints under the method's estimate (e.g. that it does not fit a budget).
    public var planNote: String? = nil
    /// A reference row without an encoder: its run writes only run.json and a marker encoder.h5,
    /// and `patchbench eval` on it reads the pixels or predicts one class (nil: an encoder).
    public var encoderless: EncoderlessReference? = nil
    /// Evaluated at the first of a reproduction's seeds only: nothing in it is drawn from the
    /// seed but the linear probe's validation split (the encoderless rows; `make` skips its other seeds).
    public var singleSeed: Bool { encoderless != nil }
    /// No pretraining to estimate in `make plan` (the floors and the encoderless rows).
    public var untrained: Bool { name == ResultsSummary.floorMethod || base == ResultsSummary.floorMethod || encoderless != nil }
    let resolveSettings: @Sendable (Budget) throws -> Resolved

    /// A method resolved against one budget: what a run of it is.
    public struct Resolved {
        public let encoder: ViTConfig
        public let recipe: MultiCropRecipe
        /// The method's settings as they run (recorded in run.json and its config hash).
        public let settings: JSONValue?
        /// Builds the objective, drawing every initial weight from the stream; nil for a method
        /// that is not trained (random-init).
        public let makeObjective: ((inout RandomStream) -> Objective)?

        init<Settings: Encodable>(encoder: ViTConfig, recipe: MultiCropRecipe, settings: Settings?,
                                  makeObjective: ((inout RandomStream) -> Objective)?) throws {
            self.encoder = encoder
            self.recipe = recipe
            self.settings = try settings.map(Budget.jsonValue)
            self.makeObjective = makeObjective
        }
    }

    public var description: String { name }

    /// The reference rows that have no encoder.
    public enum EncoderlessReference: Sendable {
        /// Normalised pixels: flattened for linear/knn, each patch's pixels as its token for the dense probes.
        case rawPixels
        /// No features at all: every probe predicts from the training labels alone (`--constant-class`).
        case constantClass

        /// The row's method name (Results' reference rows name it).
        public var name: String {
            switch self {
            case .rawPixels: return ResultsSummary.rawPixelsMethod
            case .constantClass: return ResultsSummary.constantClassMethod
            }
        }
    }

    public func resolve(_ budget: Budget) throws -> Resolved { try resolveSettings(budget) }

    /// The feature kind `probe` reads for this method.
    public func readout(for probe: EvalProbe) -> FeatureKind {
        switch probe {
        case .seg, .det, .patchKnn: return .grid
        case .linear: return linearReadout
        case .knn: return knnReadout
        }
    }
}

extension Method {
    /// The table, in the order tables and `--help` list the methods.
    public static let all: [Method] = [
        randomInit, randomInitLoMaR, randomInitRandSAC, randomInitMean, randomInitDINO, randomInitSelfPatch,
        constantClass, rawPixels, supervised, mae, lomar, lomarRPETable, lomarOfficialWindows, lomarScaledQ, lomarIRPEBuckets, dino, dinoCA, selfpatch,
        mocov2, densecl, denseCLWarmup, mocov2NoBlur, denseCLNoBlur, relationalReasoning, relationalReasoningK8,
        spatialReasoning, spatialReasoningCodeOverlap, spatialReasoningStandard, spatialReasoningStandardCodeOverlap,
    ] + randsacArms

    /// The untrained floor: MAE's encoder drawn from the seed's init stream, never trained, read
    /// by CLS as MAE is read (MAE's and the supervised row's floor).
    public static let randomInit = untrainedFloor(
        of: mae, name: ResultsSummary.floorMethod,
        summary: "untrained encoder (MAE's, sin-cos position) from the seed's init stream, read by CLS: the floor")

    /// LoMaR's floor: its encoder variant (no absolute position; untrained relative-position
    /// tables are zero, i.e. no bias), read as LoMaR is read (the patch mean).
    public static let randomInitLoMaR = untrainedFloor(
        of: lomar, name: "random-init-lomar",
        summary: "untrained encoder of LoMaR's variant (no position embedding, zero relative bias): LoMaR's floor")

    /// RandSAC's floor: its encoder variant (no CLS token), read as RandSAC is read (the patch mean).
    public static let randomInitRandSAC = untrainedFloor(
        of: randsacArms.first { $0.name == "randsac" }!, name: "random-init-randsac",
        summary: "untrained encoder of RandSAC's variant (no CLS token, sin-cos position): RandSAC's floor")

    /// The floor of the methods that train MAE's encoder variant but read the patch mean
    /// (MoCo-v2, DenseCL, Relational and Spatial Reasoning): `random-init`'s encoder, read by mean.
    public static let randomInitMean = untrainedFloor(
        of: mocov2, name: "random-init-mean",
        summary: "untrained encoder (MAE's variant) read by the patch mean: the floor of MoCo-v2, DenseCL, RR and SR")

    /// DINO's floor: its encoder variant (learned position embedding, truncated-normal weights),
    /// read as DINO is read (CLS of the last blocks for the linear probe, final CLS for k-NN).
    public static let randomInitDINO = untrainedFloor(
        of: dino, name: "random-init-dino",
        summary: "untrained encoder of DINO's variant (learned position, truncated-normal init), read as DINO: DINO's floor")

    /// SelfPatch's floor (and dino-ca's): its backbone (no CLS, no final norm, learned position,
    /// truncated-normal weights), read by the patch mean.
    public static let randomInitSelfPatch = untrainedFloor(
        of: selfpatch, name: "random-init-selfpatch",
        summary: "untrained backbone of SelfPatch's variant (no CLS, no final norm), read by mean: SelfPatch's and dino-ca's floor")

    /// An untrained floor: `source`'s encoder variant as the budget resolves it, drawn from the
    /// seed's init stream and never trained, read with `source`'s readouts. A method's rows are
    /// compared with the floor whose encoder and readouts equal its own (`floors(budget:)`).
    static func untrainedFloor(of source: Method, name: String, summary: String) -> Method {
        Method(name: name, base: ResultsSummary.floorMethod, summary: summary, configKey: nil, reproduced: true,
               tinyImagesPerSecond: nil, linearReadout: source.linearReadout, knnReadout: source.knnReadout,
               exported: "the initial encoder") { budget in
            try Resolved(encoder: try source.resolve(budget).encoder, recipe: budget.recipe, settings: nil as MAE.Config?,
                         makeObjective: nil)
        }
    }

    /// The raw-pixel reference row: every probe on the normalised pixels (no encoder, no training).
    public static let rawPixels = encoderlessReference(
        .rawPixels, summary: "reference: the probes on normalised pixels (no encoder): what any encoder must add to")

    /// The constant-class reference row: every probe predicts from the training labels alone.
    public static let constantClass = encoderlessReference(
        .constantClass,
        summary: "reference: no features, each probe predicts from the training labels alone (the most frequent class, mean boxes)")

    /// A reference row without an encoder, named by its kind; its run writes only a marker.
    static func encoderlessReference(_ kind: EncoderlessReference, summary: String) -> Method {
        Method(name: kind.name, base: kind.name, summary: summary, configKey: nil, reproduced: true,
               tinyImagesPerSecond: nil, linearReadout: .cls, knnReadout: .cls, exported: "nothing (a marker)",
               encoderless: kind) { budget in
            try Resolved(encoder: budget.vitConfig(positionEmbedding: .sinCos), recipe: budget.recipe,
                         settings: nil as MAE.Config?, makeObjective: nil)
        }
    }

    /// The supervised reference row: MAE's encoder variant trained with the pretraining split's
    /// labels (cross-entropy through a linear head on CLS) under the same budget; the upper end
    /// of the usable range every table shows (Documentation/evaluation.md, "Reference rows").
    public static let supervised = Method(
        name: ResultsSummary.supervisedMethod, base: ResultsSummary.supervisedMethod,
        summary: "reference: the same ViT trained with the labels (cross-entropy on CLS) under the same budget: the upper bound",
        // MAE's 320 × 0.463: 135.0 vs 291.4 images/s (medians of 3 alternated 40-step tiny runs, steps
        // 10–40, 2 threads, Zen 5, background runs paused, other work present).
        configKey: "supervised", reproduced: true, tinyImagesPerSecond: 148, linearReadout: .cls, knnReadout: .cls,
        exported: "the encoder (without its head)") { budget in
        let settings = try budget.settings(Supervised.Config(), key: "supervised")
        try require(settings.classes >= 2 && settings.classes <= 1 << 20, "supervised.classes must be in 2...\(1 << 20)")
        let encoder = budget.vitConfig(positionEmbedding: .sinCos)
        return try Resolved(encoder: encoder, recipe: budget.recipe, settings: settings) {
            Supervised(encoder: encoder, config: settings, rng: &$0)
        }
    }

    /// MAE (He et al.): the linear probe reads CLS (`main_linprobe.py`).
    public static let mae = Method(
        name: "mae", base: "mae", summary: "MAE: mask 75% of the patches, reconstruct their pixels with a light decoder",
        configKey: "mae", reproduced: true, tinyImagesPerSecond: 320, linearReadout: .cls, knnReadout: .cls,
        exported: "the encoder") { budget in
        let settings = try budget.settings(MAE.Config(), key: "mae")
        try require(settings.maskRatio >= 0 && settings.maskRatio < 1, "mask_ratio must be in [0, 1)")
        try requireDecoder(depth: settings.decoderDepth, dimension: settings.decoderDimension, heads: settings.decoderHeads)
        let encoder = budget.vitConfig(positionEmbedding: .sinCos)
        return try Resolved(encoder: encoder, recipe: budget.recipe, settings: settings) {
            MAE(encoder: encoder, config: settings, rng: &$0)
        }
    }

    /// LoMaR (Chen et al.): its loss never reaches the CLS output and its downstream model pools
    /// the patch tokens (`models_vit_rp.py`, `global_pool`), so the probes read their mean.
    public static let lomar = lomarVariant(name: "lomar", reproduced: true, tinyImagesPerSecond: lomarStepRate,
                                           summary: "LoMaR: reconstruct 80% masked pixels inside small windows, relative position only")

    /// LoMaR's measured rate; the arms whose step is LoMaR's own (same windows, tokens and
    /// products: another window assignment, bucket map or a scaled q) are planned at it too.
    static let lomarStepRate = 180

    /// LoMaR with a per-head (H × 50) bias table instead of the contextual iRPE: a named,
    /// simpler variant (Documentation/Objectives/LoMaR.md).
    public static let lomarRPETable = lomarVariant(name: "lomar-rpe-table", reproduced: false, tinyImagesPerSecond: nil,
                                                   summary: "LoMaR with a per-head relative-position bias table (variant)") {
        $0.relativePosition = .table
    }

    /// LoMaR with the official code's window assignment (`models_lomar.py` repeats the tokens
    /// window-major but flattens the windows image-major, so each image gets one window location
    /// n_w times): the arm that says whether the paper-vs-code difference matters
    /// (Documentation/Objectives/LoMaR.md, "Where the official code differs").
    public static let lomarOfficialWindows = lomarVariant(
        name: "lomar-official-windows", reproduced: false, tinyImagesPerSecond: lomarStepRate,
        summary: "LoMaR with the official code's window assignment (one window location per image, n_w mask draws)") {
        $0.windowAssignment = .officialCode
    }

    /// LoMaR as PatchBench trained it before the official-code fixture: iRPE's q/√d_h in the
    /// contextual product. It measures what that fix moved (Documentation/Objectives/LoMaR.md,
    /// "What each fix moved").
    public static let lomarScaledQ = lomarVariant(
        name: "lomar-scaled-q", reproduced: false, tinyImagesPerSecond: lomarStepRate, ablation: true,
        summary: "LoMaR with iRPE's q/sqrt(d_h) in the position term (the official code adds it with the unscaled q)") {
        $0.rpeQuery = .scaled
    }

    /// LoMaR with iRPE's bucket mapping on its 4 × 4 windows, as the official code maps offsets:
    /// 24 of the 49 buckets are never trained and the full grid reads them. It measures what the
    /// window mapping moved.
    public static let lomarIRPEBuckets = lomarVariant(
        name: "lomar-irpe-buckets", reproduced: false, tinyImagesPerSecond: lomarStepRate, ablation: true,
        summary: "LoMaR with iRPE's offset buckets on small windows (half the buckets never trained)") {
        $0.buckets = .irpe
    }

    static func lomarVariant(name: String, reproduced: Bool, tinyImagesPerSecond: Int?, ablation: Bool = false, summary: String,
                             overrides: @escaping @Sendable (inout LoMaR.Config) -> Void = { _ in }) -> Method {
        Method(name: name, base: "lomar", summary: summary, configKey: "lomar", reproduced: reproduced,
               tinyImagesPerSecond: tinyImagesPerSecond, linearReadout: .mean, knnReadout: .mean,
               exported: "the encoder and its relative-position tables", ablation: ablation) { budget in
            var settings = try budget.settings(LoMaR.Config(), key: "lomar")
            settings.relativePosition = .contextualProduct  // the arm, not the budget, picks the kind
            overrides(&settings)
            let grid = budget.encoder.imageSize / budget.encoder.patchSize
            try require(settings.windowSize >= 1 && settings.windowSize <= grid,
                        "window_size \(settings.windowSize) must be in 1…\(grid) (the \(grid)×\(grid) grid)")
            try require(settings.maskRatio >= 0 && settings.maskRatio < 1, "mask_ratio must be in [0, 1)")
            let encoder = budget.vitConfig(positionEmbedding: .none)
            return try Resolved(encoder: encoder, recipe: budget.recipe, settings: settings) {
                LoMaR(encoder: encoder, config: settings, methodName: name, rng: &$0)
            }
        }
    }

    /// DINO (Caron et al.): the teacher is exported; `eval_linear.py` reads the CLS tokens of the
    /// last 4 blocks (ViT-S), `eval_knn.py` the final CLS.
    public static let dino = Method(
        name: "dino", base: "dino", summary: "DINO: multi-crop self-distillation of the CLS token with an EMA teacher",
        configKey: "dino", reproduced: true, tinyImagesPerSecond: 49, linearReadout: .lastBlocks(4), knnReadout: .cls,
        exported: "the teacher's backbone") { budget in
        let settings = try budget.settings(DINO.Config(), key: "dino")
        // DINO's ViT learns its position embedding and interpolates it for the local crops, and
        // starts from timm's truncated-normal weights (vision_transformer.py `_init_weights`).
        var encoder = budget.vitConfig(positionEmbedding: .learned)
        encoder.positionInterpolationOffset = 0.1
        encoder.initialization = .truncatedNormal
        return try Resolved(encoder: encoder, recipe: try dinoRecipe(settings, budget), settings: settings) {
            DINO(encoder: encoder, config: settings, rng: &$0)
        }
    }

    /// SelfPatch (Yun et al.): evaluated on dense tasks only; its backbone has no CLS, so the
    /// image-level probes read the mean of the patch tokens.
    public static let selfpatch = selfPatchVariant(
        name: "selfpatch", patchLoss: true, tinyImagesPerSecond: 32,
        summary: "SelfPatch: DINO plus same-view patch distillation against aggregated neighbours")

    /// SelfPatch's architecture (no backbone CLS, class-attention head) with DINO's loss only
    /// (λ = 0): separates SelfPatch's loss from its architecture change (spec §6 q2).
    public static let dinoCA = selfPatchVariant(
        name: "dino-ca", patchLoss: false, tinyImagesPerSecond: 44,
        summary: "SelfPatch's architecture with DINO's loss only (lambda = 0): the arm that isolates the patch loss")

    static func selfPatchVariant(name: String, patchLoss: Bool, tinyImagesPerSecond: Int, summary: String) -> Method {
        Method(name: name, base: "selfpatch", summary: summary, configKey: "selfpatch", reproduced: true,
               tinyImagesPerSecond: tinyImagesPerSecond, linearReadout: .mean, knnReadout: .mean,
               exported: "the teacher's backbone") { budget in
            var settings = try budget.settings(SelfPatch.Config(), key: "selfpatch")
            if !patchLoss { settings.patchLossWeight = 0 }
            // Patch tokens only and no final norm: the aggregation module has them. DINO's
            // initialisation (selfpatch_vision_transformer.py `_init_weights`).
            var encoder = budget.vitConfig(positionEmbedding: .learned)
            encoder.positionInterpolationOffset = 0.1
            encoder.clsToken = false
            encoder.finalNorm = false
            encoder.initialization = .truncatedNormal
            if patchLoss && settings.dino.localCrops > 0 {
                let grid = settings.dino.localSize / budget.encoder.patchSize
                try require(grid >= 3, "methods.selfpatch.dino.local_size \(settings.dino.localSize) gives local crops of \(grid)×\(grid) "
                            + "patches at patch_size \(budget.encoder.patchSize); the 3×3 neighbourhood of SelfPatch's "
                            + "patch loss needs at least 3×3: set local_size ≥ \(3 * budget.encoder.patchSize)")
            }
            return try Resolved(encoder: encoder, recipe: try dinoRecipe(settings.dino, budget), settings: settings) {
                SelfPatch(encoder: encoder, config: settings, methodName: name, rng: &$0)
            }
        }
    }

    /// MoCo-v2 (Chen et al.) on the ViT: the global feature is the mean of the patch tokens
    /// (ResNet's GAP, spec §5 b), so both probes read it; the query encoder is exported
    /// (`encoder_q`, what MoCo's `main_lincls.py` and DenseCL's detection configs load).
    public static let mocov2 = mocoVariant(
        name: "mocov2", blur: true, reproduced: true,
        // 142 and 112 images/s: training steps alone (no data loading) in `patchbench speed --pair
        // densecl --budget tiny --batch 64 --rounds 12`, quiet Zen 5, 2 threads, medians.
        tinyImagesPerSecond: 140, summary: "MoCo-v2: InfoNCE between two views with an EMA key encoder and a queue")

    /// DenseCL (Wang et al.): MoCo-v2's settings (the `mocov2` block, so the pair cannot differ
    /// outside the dense branch) plus its own `densecl` block.
    public static let densecl = denseCLVariant(
        name: "densecl", blur: true, warmup: false, reproduced: true, tinyImagesPerSecond: 110,
        summary: "DenseCL: MoCo-v2 plus a dense InfoNCE between backbone-matched patch tokens of the two views")

    /// DenseCL with the paper's λ warm-up (`DenseCLWarmupHook`): λ = 0 for the first 2 % of the
    /// steps (spec §5: ≈ 1–3 %, the author's 10k of ~1.0M ImageNet iterations; 75 at `tiny`).
    /// The released configs run without it, so the claims test `densecl`; this arm says whether
    /// the warm-up changes the verdict (spec §5 e: early matches of a position-embedded ViT are
    /// mostly same-index ones).
    public static let denseCLWarmup = denseCLVariant(
        // DenseCL's step (λ only weights the loss; the dense branch runs from step 1): its rate.
        name: "densecl-warmup", blur: true, warmup: true, reproduced: false, tinyImagesPerSecond: 110,
        summary: "DenseCL with the paper's lambda warm-up (lambda = 0 for the first 2% of the steps; a named variant)")

    /// MoCo-v2 and DenseCL without the Gaussian blur (the CIFAR demo's recipe): the suite's
    /// 3-tap blur is ~4× stronger, relative to the image, at 32 px than the official one at 224 px
    /// (Documentation/Objectives/MoCo-DenseCL.md); this pair says whether that hurts the dense arm
    /// more than the global one.
    // Rates: their bases' (the rates time training steps, which the blur is not part of).
    public static let mocov2NoBlur = mocoVariant(
        name: "mocov2-no-blur", blur: false, reproduced: false, tinyImagesPerSecond: 140,
        summary: "MoCo-v2 without the Gaussian blur (the CIFAR demo's views; a named variant, paired with densecl-no-blur)")
    public static let denseCLNoBlur = denseCLVariant(
        name: "densecl-no-blur", blur: false, warmup: false, reproduced: false, tinyImagesPerSecond: 110,
        summary: "DenseCL without the Gaussian blur (the CIFAR demo's views; a named variant, paired with mocov2-no-blur)")

    static func mocoVariant(name: String, blur: Bool, reproduced: Bool, tinyImagesPerSecond: Int?, summary: String) -> Method {
        Method(name: name, base: "mocov2", summary: summary, configKey: "mocov2", reproduced: reproduced,
               tinyImagesPerSecond: tinyImagesPerSecond, linearReadout: .mean, knnReadout: .mean,
               exported: "the query encoder") { budget in
            let settings = try mocoSettings(budget)
            let encoder = budget.vitConfig(positionEmbedding: .sinCos)
            return try Resolved(encoder: encoder, recipe: mocoRecipe(budget, blur: blur), settings: settings) {
                MoCoV2(encoder: encoder, config: settings, methodName: name, rng: &$0)
            }
        }
    }

    /// `warmup`: λ = 0 for the first 2 % of the budget's steps, unless the budget's block sets
    /// `dense_warmup_steps` (then every DenseCL arm warms up for that many).
    static func denseCLVariant(name: String, blur: Bool, warmup: Bool, reproduced: Bool, tinyImagesPerSecond: Int?,
                               summary: String) -> Method {
        Method(name: name, base: "densecl", summary: summary, configKey: "densecl", reproduced: reproduced,
               tinyImagesPerSecond: tinyImagesPerSecond, linearReadout: .mean, knnReadout: .mean,
               exported: "the query encoder") { budget in
            var settings = try budget.settings(DenseCL.Config(), key: "densecl")
            try require(settings.moco == MoCoV2.Config(),
                        "methods.densecl.moco: set MoCo-v2's settings in methods.mocov2, which both arms read")
            settings.moco = try mocoSettings(budget)
            try require(settings.denseLossWeight >= 0 && settings.denseLossWeight <= 1, "dense_loss_weight must be in [0, 1]")
            try require(settings.denseWarmupSteps >= 0, "dense_warmup_steps must be ≥ 0")
            if warmup && settings.denseWarmupSteps == 0 {
                settings.denseWarmupSteps = max(1, Int((0.02 * Double(budget.totalSteps)).rounded()))
            }
            let encoder = budget.vitConfig(positionEmbedding: .sinCos)
            return try Resolved(encoder: encoder, recipe: mocoRecipe(budget, blur: blur), settings: settings) {
                DenseCL(encoder: encoder, config: settings, methodName: name, rng: &$0)
            }
        }
    }

    /// Relational Reasoning (Patacchiola & Storkey): K views, all pairs, focal loss, the authors'
    /// Adam (Documentation/Objectives/RR-SR.md). The probes read the image feature the relation
    /// head was trained on, the mean of the patch tokens (ResNet's GAP, spec §1.3).
    public static let relationalReasoning = relationalReasoningVariant(
        name: "relational-reasoning", views: nil, reproduced: true,
        // 47 and 26 (SR) images/s: short `patchbench pretrain` runs at tiny (40 steps of 64, steps
        // 10–40, data loading included) on a quiet Zen 5, 2 threads, scaled by MoCo-v2's rate
        // measured beside them (187 and 196 there, 140 in the table): RR 64.3 → 47, SR 36.2 → 26.
        tinyImagesPerSecond: 47,
        summary: "Relational Reasoning: same-image vs different-image pairs of K views through a relation head (focal loss)")

    /// Relational Reasoning at K = 8 views (28 positive pairs per image, against K = 4's 6; the
    /// authors' 32 gives 496): the sensitivity row for K, which both RR and SR run at SR's README
    /// value 4 (Documentation/Objectives/RR-SR.md).
    public static let relationalReasoningK8 = relationalReasoningVariant(
        // RR's 47 × 0.503: 15.19 and 14.96 vs 29.67 and 30.27 images/s, medians from step 10 of
        // 100-s tiny runs alternated RR, K = 8, RR, K = 8 (2 threads, Zen 4 EPYC, background runs
        // niced in their own autogroup).
        name: "relational-reasoning-k8", views: 8, reproduced: false, tinyImagesPerSecond: 24,
        summary: "Relational Reasoning with K = 8 views instead of 4 (the sensitivity row for K; a named variant)")

    /// `views`: the arm's K, replacing the budget's; nil: the budget's (default 4).
    static func relationalReasoningVariant(name: String, views: Int?, reproduced: Bool, tinyImagesPerSecond: Int?,
                                           summary: String) -> Method {
        Method(name: name, base: "relational-reasoning", summary: summary, configKey: "relational_reasoning",
               reproduced: reproduced, tinyImagesPerSecond: tinyImagesPerSecond, linearReadout: .mean, knnReadout: .mean,
               exported: "the backbone") { budget in
            var settings = try budget.settings(RelationalReasoning.Config(), key: "relational_reasoning")
            if let views { settings.views = views }
            try require(settings.views >= 2, "relational_reasoning.views must be ≥ 2")
            try requireRange(settings.cropScale, "relational_reasoning.crop_scale")
            try require(settings.views <= 64, "relational_reasoning.views must be ≤ 64")
            try require(settings.focalGamma == 2 || settings.focalGamma == 0, "relational_reasoning.focal_gamma must be 2 (the authors') or 0 (BCE)")
            try require(settings.focalAlpha >= 0 && settings.focalAlpha <= 1, "relational_reasoning.focal_alpha must be in [0, 1]")
            try require(settings.learningRate > 0 && settings.hidden > 0, "relational_reasoning.learning_rate and hidden must be > 0")
            let encoder = budget.vitConfig(positionEmbedding: .sinCos)
            let recipe = RelationalReasoning.recipe(views: settings.views, size: budget.augmentation.size, scale: settings.cropScale,
                                                    mean: budget.augmentation.mean, std: budget.augmentation.std)
            return try Resolved(encoder: encoder, recipe: recipe, settings: settings) {
                RelationalReasoning(encoder: encoder, config: settings, methodName: name, rng: &$0)
            }
        }
    }

    /// Spatial Reasoning (Albert et al.), additive mode, patches kept apart as the paper says;
    /// probed on the image feature only, as RR (the fair probe, spec §1.3).
    public static let spatialReasoning = spatialReasoningVariant(
        name: "spatial-reasoning", overlapRule: .pairwise, mode: .additive, reproduced: true, tinyImagesPerSecond: 26,
        summary: "Spatial Reasoning: RR plus relative-position regression between non-overlapping patches (additive mode)")

    /// Spatial Reasoning with the code's overlap check (row against column of patches 0 and 1):
    /// a named arm for the bug (spec §5 q2).
    public static let spatialReasoningCodeOverlap = spatialReasoningVariant(
        name: "spatial-reasoning-code-overlap", overlapRule: .code, mode: .additive, reproduced: false, tinyImagesPerSecond: nil,
        summary: "Spatial Reasoning with the authors' overlap check, which lets patches overlap (variant)")

    /// Spatial Reasoning in the code's standard (zoomed) mode: the patches are S×S cuts of the
    /// image enlarged to ⌊S/ps · S⌋, kept apart as the paper says; probed on the image feature
    /// only, as RR and the additive arm (the code's concatenated image + crops probe is not built).
    /// The same 7 backbone passes per image as the additive arm; 24 images/s: 0.93× the additive
    /// arm's rate in alternated short tiny runs (1 thread, steps 6–24, two of each: 6.44 vs 6.84
    /// and 6.36 vs 6.99 on a Zen 4 EPYC shared with two niced runs) applied to its 26.
    public static let spatialReasoningStandard = spatialReasoningVariant(
        name: "spatial-reasoning-standard", overlapRule: .pairwise, mode: .standard, reproduced: false, tinyImagesPerSecond: 24,
        summary: "Spatial Reasoning in the code's standard mode: zoomed full-size crops of the enlarged image (variant)")

    /// The authors' training run as their README gives it: standard mode with the code's overlap
    /// check (row against column of patches 0 and 1, extent S), which lets most cuts overlap.
    public static let spatialReasoningStandardCodeOverlap = spatialReasoningVariant(
        name: "spatial-reasoning-standard-code-overlap", overlapRule: .code, mode: .standard, reproduced: false,
        tinyImagesPerSecond: nil,
        summary: "Spatial Reasoning as the authors' README trains it: standard mode with the code's overlap check (variant)")

    static func spatialReasoningVariant(name: String, overlapRule: PatchOverlapRule, mode: PatchMode, reproduced: Bool,
                                        tinyImagesPerSecond: Int?, summary: String) -> Method {
        Method(name: name, base: "spatial-reasoning", summary: summary, configKey: "spatial_reasoning", reproduced: reproduced,
               tinyImagesPerSecond: tinyImagesPerSecond, linearReadout: .mean, knnReadout: .mean, exported: "the backbone") { budget in
            var settings = try budget.settings(SpatialReasoning.Config(), key: "spatial_reasoning")
            settings.overlapRule = overlapRule
            settings.mode = mode
            let side = budget.augmentation.size
            try require(settings.views >= 2 && settings.patches >= 2, "spatial_reasoning.views and patches must be ≥ 2")
            try require(settings.patchSize >= 1 && settings.patchSize < side, "spatial_reasoning.patch_size must be in 1..<\(side)")
            // Divided rather than doubled: a crafted `patches` near Int.max must not overflow.
            let (positions, extent) = SpatialReasoning.sampling(side: side, patchSize: settings.patchSize, mode: mode)
            try require(settings.patches <= positions / 2,
                        "spatial_reasoning: 2 × patches must fit in the \(positions) positions of \(mode.rawValue) mode (size \(side), patch_size \(settings.patchSize))")
            // Cuts of `extent` at positions 0..<positions span positions + extent − 1 pixels a side:
            // at most ⌊span/extent⌋ apart per axis, so more than its square can never be placed.
            let perAxis = (positions + extent - 1) / extent
            try require(overlapRule != .pairwise || settings.patches <= perAxis * perAxis,
                        "spatial_reasoning.patches \(settings.patches): at most \(perAxis * perAxis) cuts of \(extent) px fit without "
                        + "overlap in \(mode.rawValue) mode (size \(side), patch_size \(settings.patchSize)); lower patches or patch_size")
            try requireRange(settings.cropScale, "spatial_reasoning.crop_scale")
            try require(settings.views <= 64, "spatial_reasoning.views must be ≤ 64")
            try require(settings.mseWeight >= 0, "spatial_reasoning.mse_weight must be ≥ 0")
            try require(settings.learningRate > 0 && settings.hidden > 0, "spatial_reasoning.learning_rate and hidden must be > 0")
            let encoder = budget.vitConfig(positionEmbedding: .sinCos)
            let (mean, std) = (budget.augmentation.mean, budget.augmentation.std)
            let recipe = SpatialReasoning.recipe(settings, size: side, mean: mean, std: std)
            let patchTransform = SpatialReasoning.patchTransform(size: side, mean: mean, std: std)
            return try Resolved(encoder: encoder, recipe: recipe, settings: settings) {
                SpatialReasoning(encoder: encoder, config: settings, patchTransform: patchTransform, methodName: name, rng: &$0)
            }
        }
    }

    /// RandSAC (Hua et al.) and the arms of its serialization study (Tables 1–6): one builder,
    /// each arm its serialization (the pixel arm also its token size, the T1 arms their target).
    /// `randsac` and `randsac-blob`, the final configs of Tables 7–8, decode with the learned skip
    /// mix (§4.2); the ablation arms use the "vanilla masked transformer" decoder, as the paper's
    /// §3 ablations did, so `randsac-vanilla-decoder` is both T6's 16 → 4 square arm and the
    /// skip mix's own ablation. No CLS: both probes read the mean of the patch tokens.
    public static let randsacArms: [Method] = {
        typealias Rule = SerializationRule
        func blob(_ k: Int, _ p: Int = 1) -> ArmSerialization { .fixed(Rule(segments: .blob, blobCount: k, partitions: p, order: .random)) }
        func shuffled(_ k: Int) -> ArmSerialization { .fixed(Rule(segments: .shuffled, blobCount: k, order: .random)) }
        let patchRaster = ArmSerialization.fixed(Rule(segments: .square, squareSize: 1, order: .raster))
        var arms: [Method] = [
            // Rates (every arm but the pixel one costs the same: all encode 64 tokens and decode 64
            // queries; only the masks differ): MAE's 320 × the RandSAC/MAE step ratio of `patchbench
            // speed --pair randsac --budget tiny --batch 64 --rounds 6` (0.35 with the skip mix, 0.38
            // without; 174 vs 499 images/s of training steps, quiet Zen 5, 2 threads).
            randsacArm("randsac", .squaresPerSide(4, partitions: 4), skipMix: true, reproduced: true,
                       summary: "RandSAC: autoregress 16 squares (2x2 tokens at tiny) in a random hierarchical order (16 -> 4), skip-mixed decoder"),
            randsacArm("randsac-blob", blob(11, 5), skipMix: true, reproduced: true,
                       summary: "RandSAC with 11 Gaussian blobs in 5 partitions (11 -> 5), skip-mixed decoder"),
            randsacArm("randsac-vanilla-decoder", .squaresPerSide(4, partitions: 4),
                       summary: "RandSAC 16 -> 4 whose decoder reads the encoder output only (no skip mix); ablation T6's 16 -> 4 squares"),
            // 1,024 tokens per image: 4.6 images/s of training steps at batch 8 against MAE's 287 in
            // the same run (0.016×; FLOP ratio 0.011), peak RSS 2.9 GB.
            randsacArm("randsac-pixel-raster", patchRaster, tokenPatch: 1, normPixLoss: false, tinyImagesPerSecond: 5,
                       planNote: "does not fit the tiny budget on 2 cores: 1,024 tokens per image run at 1.6% of MAE's step "
                           + "(~13 h per seed); its claims stay not run unless it is trained on a bigger machine",
                       summary: "RandSAC ablation T1: pixel tokens (patch 1), raster order, raw-pixel MSE"),
            randsacArm("randsac-patch-raster-raw-mse", patchRaster, normPixLoss: false,
                       summary: "RandSAC ablation T1: one patch token per segment, raster order, raw-pixel MSE"),
            randsacArm("randsac-patch-raster", patchRaster, summary: "RandSAC ablation T2: one token per segment, raster order"),
            randsacArm("randsac-patch-random", .fixed(Rule(segments: .square, squareSize: 1, order: .random)),
                       summary: "RandSAC ablation T2/T3: one token per segment, random order"),
            randsacArm("randsac-square-random", .squaresPerSide(4, partitions: 1),
                       summary: "RandSAC ablation T3/T4/T6: 16 flat squares (2x2 tokens at tiny), random order"),
            randsacArm("randsac-square4-random", .squaresPerSide(2, partitions: 1),
                       summary: "RandSAC ablation T3/T6: 4 flat squares (4x4 tokens at tiny), random order"),
        ]
        for k in [3, 4, 5, 7, 9, 11, 16] {
            arms.append(randsacArm("randsac-blob\(k)-random", blob(k), summary: "RandSAC ablation T5/T6: \(k) flat blobs, random order"))
        }
        for k in [3, 5, 7, 9, 11] {
            arms.append(randsacArm("randsac-blob\(k)-shuffled", shuffled(k),
                                   summary: "RandSAC ablation T5: \(k) segments of blob sizes, tokens shuffled (non-coherent)"))
        }
        arms.append(randsacArm("randsac-blob7to3-random", blob(7, 3), summary: "RandSAC ablation T6: 7 blobs in 3 partitions"))
        arms.append(randsacArm("randsac-blob16to4-random", blob(16, 4), summary: "RandSAC ablation T6: 16 blobs in 4 partitions"))
        return arms
    }()

    /// A RandSAC arm's serialization: a fixed rule, or squares counted per side of the token grid
    /// (M = ⌈g / n⌉), so that an arm named for its segment count keeps that count on every
    /// budget's grid (16 on tiny's 8 × 8 with M = 2, and on the paper budget's 14 × 14 with M = 4).
    enum ArmSerialization: Sendable {
        case fixed(SerializationRule)
        case squaresPerSide(Int, partitions: Int)

        func rule(grid g: Int) throws -> SerializationRule {
            switch self {
            case .fixed(let rule): return rule
            case .squaresPerSide(let n, let partitions):
                let m = (g + n - 1) / n
                try Method.require(m >= 1 && (g + m - 1) / m == n, "\(n) squares per side cannot be cut from the \(g)×\(g) grid")
                return SerializationRule(segments: .square, squareSize: m, partitions: partitions, order: .random)
            }
        }
    }

    /// An arm with a plan note (one that does not fit the tiny budget) is run only by naming it.
    /// `normPixLoss`, when given, is the arm's target and replaces the budget's.
    static func randsacArm(_ name: String, _ serialization: ArmSerialization, tokenPatch: Int? = nil, normPixLoss: Bool? = nil,
                           skipMix: Bool = false, reproduced: Bool = false, tinyImagesPerSecond: Int? = nil,
                           planNote: String? = nil, summary: String) -> Method {
        Method(name: name, base: "randsac", summary: summary, configKey: "randsac", reproduced: reproduced,
               tinyImagesPerSecond: tinyImagesPerSecond ?? (skipMix ? 110 : 120), linearReadout: .mean, knnReadout: .mean,
               exported: "the encoder", ablation: !reproduced && planNote == nil, planNote: planNote) { budget in
            // Each arm is its serialization: a budget's would be silently replaced, so it is refused.
            if case .object(let block)? = budget.methods["randsac"], block["serialization"] != nil {
                throw HarnessError("methods.randsac.serialization is the arm's, not the budget's: pick the arm "
                                   + "(patchbench methods lists them)")
            }
            var settings = try budget.settings(RandSAC.Config(), key: "randsac")
            settings.skipMix = settings.skipMix && skipMix
            if let normPixLoss { settings.normPixLoss = normPixLoss }
            var encoder = budget.vitConfig(positionEmbedding: .sinCos)
            encoder.clsToken = false
            if let tokenPatch { encoder.patchSize = tokenPatch }
            // Counted on the budget's patch grid: the pixel arm's token grid is finer.
            let rule = try serialization.rule(grid: budget.encoder.imageSize / budget.encoder.patchSize)
            settings.serialization = rule
            if let problem = rule.problem(grid: encoder.grid) { throw HarnessError("\(name): \(problem)") }
            try requireDecoder(depth: settings.decoderDepth, dimension: settings.decoderDimension, heads: settings.decoderHeads)
            let targetPatch = budget.encoder.patchSize
            return try Resolved(encoder: encoder, recipe: budget.recipe, settings: settings) {
                RandSAC(encoder: encoder, config: settings, targetPatch: targetPatch, methodName: name, rng: &$0)
            }
        }
    }

    static func mocoSettings(_ budget: Budget) throws -> MoCoV2.Config {
        let settings = try budget.settings(MoCoV2.Config(), key: "mocov2")
        try require(settings.queueSize > 0 && settings.queueSize % budget.batchSize == 0,
                    "mocov2.queue_size \(settings.queueSize) must be a positive multiple of batch_size \(budget.batchSize)")
        try require(settings.temperature > 0, "mocov2.temperature must be > 0")
        try require(settings.momentum >= 0 && settings.momentum < 1, "mocov2.momentum must be in [0, 1)")
        try require(settings.hidden > 0 && settings.outputs > 0, "mocov2.hidden and outputs must be > 0")
        return settings
    }

    /// MoCo-v2's two views; `blur: false` drops the Gaussian blur (the no-blur arms).
    static func mocoRecipe(_ budget: Budget, blur: Bool) -> MultiCropRecipe {
        var recipe = MoCoV2.recipe(size: budget.augmentation.size, mean: budget.augmentation.mean, std: budget.augmentation.std)
        if !blur { for i in recipe.views.indices { recipe.views[i].blurProbability = 0 } }
        return recipe
    }

    static func dinoRecipe(_ settings: DINO.Config, _ budget: Budget) throws -> MultiCropRecipe {
        try require(settings.globalScale.count == 2 && settings.localScale.count == 2, "global_scale and local_scale are [low, high]")
        try requireRange(settings.globalScale, "global_scale")
        try requireRange(settings.localScale, "local_scale")
        try require(settings.outputs > 0 && settings.hidden > 0 && settings.bottleneck > 0, "outputs, hidden and bottleneck must be > 0")
        try require(settings.studentTemperature > 0 && settings.teacherTemperature > 0 && settings.warmupTeacherTemperature > 0,
                    "temperatures must be > 0")
        try require(settings.localCrops >= 0 && settings.localCrops <= 64 && settings.localSize >= budget.encoder.patchSize
                    && settings.localSize <= budget.augmentation.size && settings.localSize % budget.encoder.patchSize == 0,
                    "local_crops must be in 0...64 and local_size a multiple of patch_size up to the image size")
        try require((0...1).contains(settings.centerMomentum) && (0...1).contains(settings.teacherMomentum)
                    && (0..<1).contains(settings.dropPath), "momenta must be in [0, 1] and drop_path in [0, 1)")
        return DINO.recipe(settings, globalSize: budget.augmentation.size, mean: budget.augmentation.mean,
                           std: budget.augmentation.std)
    }

    /// A crop-scale range [low, high] with 0 < low ≤ high ≤ 1.
    static func requireRange(_ range: [Double], _ name: String) throws {
        try require(range.count == 2 && range[0] > 0 && range[0] <= range[1] && range[1] <= 1,
                    "\(name) is \(range); it must be [low, high] with 0 < low ≤ high ≤ 1")
    }

    static func requireDecoder(depth: Int, dimension: Int, heads: Int) throws {
        try require(depth >= 1 && depth <= 64 && dimension > 0 && dimension <= 1 << 16 && heads > 0 && dimension % heads == 0,
                    "the decoder needs depth in 1...64, dimension > 0 and heads > 0 dividing it")
    }

    static func require(_ condition: Bool, _ why: String) throws {
        if !condition { throw HarnessError(why) }
    }
}

extension Method {
    public static var names: String { all.map(\.name).joined(separator: ", ") }

    /// The budget blocks the table reads.
    public static var configKeys: [String] {
        all.compactMap(\.configKey).reduce(into: []) { keys, key in if !keys.contains(key) { keys.append(key) } }
    }

    /// The default METHODS of `make reproduce-all`.
    public static var reproduced: [Method] { all.filter(\.reproduced) }

    /// The METHODS of `make reproduce-ablations`.
    public static var ablations: [Method] { all.filter(\.ablation) }

    public static func named(_ name: String) throws -> Method {
        guard let m = all.first(where: { $0.name == name }) else {
            throw HarnessError("unknown method '\(name)'; choose one of \(names)")
        }
        return m
    }

    /// Every method's floor at `budget`, by name (what `patchbench tables` marks rows against):
    /// the untrained floor whose encoder, as `budget` resolves both, and whose readouts equal the
    /// method's. No entry for a floor or an encoderless row, for a method no floor matches (the
    /// pixel-token RandSAC arm) and for one the budget cannot resolve.
    public static func floors(budget: Budget) -> [String: String] {
        let candidates = resolvedFloors(budget)
        return all.reduce(into: [:]) { floors, method in
            floors[method.name] = floor(of: method, among: candidates, budget: budget)?.name
        }
    }

    /// `floors(budget:)` for a budget named or given by path, as `patchbench tables` reads it: nil
    /// where there is no such file (a budget trained from a file kept elsewhere); a file that is
    /// there but does not load throws, naming the file.
    public static func floors(budgetFile nameOrPath: String) throws -> [String: String]? {
        let path = Budget.path(for: nameOrPath)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return floors(budget: try Budget.load(path: path))
    }

    /// The untrained floors with their encoders as `budget` resolves them, in table order (the
    /// first match wins); resolved once for every method they are matched against.
    private static func resolvedFloors(_ budget: Budget) -> [(floor: Method, encoder: ViTConfig)] {
        all.compactMap { floor in
            guard floor.base == ResultsSummary.floorMethod, let encoder = try? floor.resolve(budget).encoder else { return nil }
            return (floor, encoder)
        }
    }

    private static func floor(of method: Method, among floors: [(floor: Method, encoder: ViTConfig)],
                              budget: Budget) -> Method? {
        guard !method.untrained, let encoder = try? method.resolve(budget).encoder else { return nil }
        return floors.first {
            $0.floor.linearReadout == method.linearReadout && $0.floor.knnReadout == method.knnReadout
                && $0.encoder == encoder
        }?.floor
    }

    /// What Results' claims loader checks claims.json against: every method the table can run.
    public static var implemented: [ImplementedMethod] { all.map { ImplementedMethod(name: $0.name, base: $0.base, note: $0.planNote) } }
}
