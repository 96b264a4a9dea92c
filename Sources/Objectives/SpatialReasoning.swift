// From Patches to Objects: Exploiting Spatial Reasoning for Better Visual Representations
// (Albert, Eskofier, Zanca; arXiv May 2023, Discover Applied Sciences 2024); reference code
// mad-lab-fau/Spatial-Reasoning (methods/patchnet.py `Model.aggregate`, `patch_aggregate`,
// `train`; datamanager.py `PatchTinyImageFolder.patch_transform`, additive mode). Spec:
// shared/specs/spatialreasoning-randsac-lomar.md §1.2, §1.3, §5. Documentation/Objectives/RR-SR.md.
//
// Equations, in the order a step realises them:
//   (1) per image: P patches of ps×ps cut at (r_p, c_p), sampled without overlap, each pasted on a
//       zero canvas of the image's size at a random place; target t_p = (r_p, c_p) / (S − ps)
//   (2) g = GAP(ViT(cat(x_1…x_K, canvas_1…canvas_P)))     one forward for views and patches
//   (3) image pairs as RR (i < j, rolled negatives): positive target (0, 0, 0), negative (1, 1, 1)
//   (4) patch pairs p < q the same way: positive target (t_p − t_q, 0) signed, negative (1, 1, 1)
//   (5) z = head(pairs) ∈ R³ (Linear → BN1d → LeakyReLU → Linear(256 → 3))
//   (6) L = BCE(z₂, y₂) + α · MSE(z₀₁, y₀₁), both means over all pairs (image and patch)
// Adam 1e-3 constant for everything (as RR, `AuthorsAdam`).
import Datasets
import Foundation
import Layers
import TensorCore

/// Where one patch comes from and where it is pasted (view pixels, top-left corners).
public struct PatchPlacement: Equatable, Sendable {
    public var row: Int
    public var column: Int
    public var canvasRow: Int
    public var canvasColumn: Int
    public init(row: Int, column: Int, canvasRow: Int, canvasColumn: Int) {
        self.row = row
        self.column = column
        self.canvasRow = canvasRow
        self.canvasColumn = canvasColumn
    }
}

/// How the sampler keeps patches apart.
public enum PatchOverlapRule: String, Codable, Equatable, Sendable {
    /// The paper's intent: no two patches overlap (|Δr| ≥ ps or |Δc| ≥ ps for every pair).
    case pairwise
    /// The code's check: resample only while |pos₀ − pos₁| < ps and |pos₂ − pos₃| < ps, i.e. row
    /// against column of patches 0 and 1; patches may overlap (spec §5 q2).
    case code
}

public final class SpatialReasoning: Objective, Module {
    public struct Config: Codable, Equatable, Sendable {
        /// K image views (SR's README run: 4).
        public var views: Int = 4
        /// P, patches per image (`--patchcount`; README run 3).
        public var patches: Int = 3
        /// ps in view pixels: 24/64 of the side as the README, 12 at 32 px.
        public var patchSize: Int = 12
        /// α, the MSE weight (`--alpha`).
        public var mseWeight: Double = 1
        public var overlapRule: PatchOverlapRule = .pairwise
        public var hidden: Int = 256
        public var learningRate: Double = 1e-3
        public var cropScale: [Double] = [0.08, 1.0]

        public init() {}
    }

    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    public let head: RelationHead

    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), methodName: String = "spatial-reasoning",
                dtype: DType = .float32, rng: inout RandomStream) {
        precondition(config.views >= 2 && config.patches >= 2, "Spatial Reasoning needs K ≥ 2 views and P ≥ 2 patches")
        precondition(2 * config.patches <= encoderConfig.imageSize - config.patchSize,
                     "Spatial Reasoning draws 2P distinct positions from 0..<S − ps")
        self.methodName = methodName
        self.config = config
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        head = RelationHead(inputs: 2 * encoderConfig.dimension, hidden: config.hidden, outputs: 3, dtype: dtype, rng: &rng)
    }

    public func namedParameters() -> [(String, Tensor)] {
        encoder.namedParameters(prefix: "backbone") + head.namedParameters(prefix: "relation_module")
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    /// RR's K views, then P whole-image views the patches are cut from: no crop, no flip, the
    /// patch transform's colour jitter (p 0.8) and grayscale (p 0.2), normalised.
    public static func recipe(_ config: Config, size: Int, mean: [Float], std: [Float]) -> MultiCropRecipe {
        var recipe = RelationalReasoning.recipe(views: config.views, size: size, scale: config.cropScale, mean: mean, std: std)
        var source = recipe.views[0]
        source.scale = 1.0...1.0
        source.ratio = 1.0...1.0
        source.flipProbability = 0
        recipe.views += [ViewRecipe](repeating: source, count: config.patches)
        return recipe
    }

    public func initialState() -> ObjectiveState { BatchNormState.initial(head.bn1, prefix: "relation_module") }

    public func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup] {
        AuthorsAdam.groups(namedParameters(), learningRate: config.learningRate, steps: plan.learningRate.count)
    }

    public var adam: AdamSettings? { AuthorsAdam.settings }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        let k = config.views, p = config.patches, b = batch.count
        precondition(batch.views.count == k + p, "Spatial Reasoning takes K + P = \(k + p) views, got \(batch.views.count)")
        let side = batch.views[k].images.shape[2]
        let placements = (0..<b).map { _ in                                                            // Eq. (1)
            Self.samplePlacements(count: p, side: side, patchSize: config.patchSize, rule: config.overlapRule, rng: &rng)
        }
        let canvases = Self.canvases((0..<p).map { batch.views[k + $0].images }, placements: placements, patchSize: config.patchSize)
        let features = GlobalFeatures.of(encoder, Tensor.concat([batch.images(0..<k), canvases], axis: 0))  // Eq. (2)
        let imageFeatures = features.slice(axis: 0, 0..<(k * b)), patchFeatures = features.slice(axis: 0, (k * b)..<((k + p) * b))
        let targets = Self.targets(placements, side: side, patchSize: config.patchSize)
        let out = spatialLoss(imageFeatures: imageFeatures, views: k, patchFeatures: patchFeatures, patchTargets: targets, state: state)
        return ObjectiveStep(loss: out.loss, terms: [("bce", out.bce), ("mse", out.mse)]) { out.state }
    }

    /// Eqs. (3)–(6). imageFeatures [K·B, F] view-major, patchFeatures [P·B, F] patch-major,
    /// patchTargets [P·B, 2] (t_p of each patch, patch-major).
    public func spatialLoss(imageFeatures: Tensor, views k: Int, patchFeatures: Tensor, patchTargets: Tensor,
                            state: ObjectiveState) -> (loss: Tensor, bce: Double, mse: Double, state: ObjectiveState) {
        let p = patchFeatures.shape[0] / (imageFeatures.shape[0] / k)
        let imagePairs = RelationPairs(views: k, batch: imageFeatures.shape[0] / k)                    // Eq. (3)
        let patchPairs = RelationPairs(views: p, batch: patchFeatures.shape[0] / p)                     // Eq. (4)
        let y = Self.pairTargets(imagePairs: imagePairs, patchPairs: patchPairs, patchTargets: patchTargets, dtype: imageFeatures.dtype)
        let input = Tensor.concat([imagePairs.concatenated(imageFeatures), patchPairs.concatenated(patchFeatures)], axis: 0)
        let (z, next) = head.training(input, running: BatchNormState.read(state, prefix: "relation_module"))   // Eq. (5)
        let bce = z.slice(axis: 1, 2..<3).binaryCrossEntropy(logitTargets: y.slice(axis: 1, 2..<3)).mean()    // Eq. (6)
        let mse = Tensor.mse(z.slice(axis: 1, 0..<2), y.slice(axis: 1, 0..<2))
        let loss = bce + mse * config.mseWeight
        return (loss, bce.item, mse.item, BatchNormState.write(next, prefix: "relation_module"))
    }

    /// The 3-vector targets [M, 3] of `aggregate` (images) then `patch_aggregate` (patches):
    /// image positives (0, 0, 0), every negative (1, 1, 1), patch positives (t_p − t_q, 0).
    public static func pairTargets(imagePairs: RelationPairs, patchPairs: RelationPairs, patchTargets t: Tensor,
                                   dtype: DType = .float32) -> Tensor {
        var y: [Double] = []
        for positive in imagePairs.positive { y += positive ? [0, 0, 0] : [1, 1, 1] }
        let d = t.doubles
        for (row, positive) in patchPairs.positive.enumerated() {
            let a = patchPairs.left[row], b = patchPairs.right[row]
            y += positive ? [d[2 * a] - d[2 * b], d[2 * a + 1] - d[2 * b + 1], 0] : [1, 1, 1]
        }
        return Tensor(y, shape: [imagePairs.count + patchPairs.count, 3], dtype: dtype)
    }

    /// t_p = (r_p, c_p) / (S − ps) per patch, patch-major [P·B, 2] (additive mode's
    /// `positions/(64 − patch_size)` with 64 the side).
    public static func targets(_ placements: [[PatchPlacement]], side: Int, patchSize: Int) -> Tensor {
        let b = placements.count, p = placements.first?.count ?? 0, range = Double(side - patchSize)
        var t = [Double](repeating: 0, count: p * b * 2)
        for s in 0..<b {
            for q in 0..<p {
                t[(q * b + s) * 2] = Double(placements[s][q].row) / range
                t[(q * b + s) * 2 + 1] = Double(placements[s][q].column) / range
            }
        }
        return Tensor(t, shape: [p * b, 2])
    }

    /// Eq. (1), one image: 2P distinct integers of 0..<S − ps (`random.sample`), patch p at
    /// (pos[2p], pos[2p + 1]), drawn again while `rule` finds an overlap; then each patch's
    /// canvas corner as 2 distinct integers of the same range.
    public static func samplePlacements(count p: Int, side: Int, patchSize ps: Int, rule: PatchOverlapRule,
                                        rng: inout RandomStream) -> [PatchPlacement] {
        let range = side - ps
        precondition(p >= 2 && 2 * p <= range, "patch sampling: P = \(p) ≥ 2 and 2P ≤ S − ps = \(range)")
        var positions = sample(2 * p, from: range, rng: &rng)
        var tries = 1
        while overlaps(positions, patchSize: ps, rule: rule) {
            precondition(tries < 100_000, "patch sampling: no non-overlapping placement of \(p) patches of \(ps) in \(side) after \(tries) tries")
            positions = sample(2 * p, from: range, rng: &rng)
            tries += 1
        }
        return (0..<p).map { q in
            let canvas = sample(2, from: range, rng: &rng)
            return PatchPlacement(row: positions[2 * q], column: positions[2 * q + 1], canvasRow: canvas[0], canvasColumn: canvas[1])
        }
    }

    /// Whether `rule` rejects these positions (patch q at (pos[2q], pos[2q + 1])).
    public static func overlaps(_ pos: [Int], patchSize ps: Int, rule: PatchOverlapRule) -> Bool {
        switch rule {
        case .code:
            return abs(pos[0] - pos[1]) < ps && abs(pos[2] - pos[3]) < ps
        case .pairwise:
            let p = pos.count / 2
            for a in 0..<p {
                for b in (a + 1)..<p where abs(pos[2 * a] - pos[2 * b]) < ps && abs(pos[2 * a + 1] - pos[2 * b + 1]) < ps {
                    return true
                }
            }
            return false
        }
    }

    /// k distinct integers of 0..<n in draw order (partial Fisher–Yates).
    static func sample(_ k: Int, from n: Int, rng: inout RandomStream) -> [Int] {
        var pool = Array(0..<n)
        for i in 0..<k { pool.swapAt(i, i + rng.nextInt(below: n - i)) }
        return Array(pool[0..<k])
    }

    /// Patch-major canvases [P·B, C, S, S]: zeros (the normalised image's zero, as the code pastes
    /// normalised patches onto `torch.zeros`) with patch q of sample s cut from sources[q][s].
    public static func canvases(_ sources: [Tensor], placements: [[PatchPlacement]], patchSize ps: Int) -> Tensor {
        let p = sources.count, b = sources[0].shape[0], c = sources[0].shape[1], side = sources[0].shape[2]
        let plane = side * side, image = c * plane
        var out = [Float](repeating: 0, count: p * b * image)
        for q in 0..<p {
            let src = sources[q].floats
            for s in 0..<b {
                let at = placements[s][q], o = (q * b + s) * image, i = s * image
                for ch in 0..<c {
                    for y in 0..<ps {
                        for x in 0..<ps {
                            out[o + ch * plane + (at.canvasRow + y) * side + at.canvasColumn + x]
                                = src[i + ch * plane + (at.row + y) * side + at.column + x]
                        }
                    }
                }
            }
        }
        return Tensor(floats: out, shape: [p * b, c, side, side])
    }

    // MARK: FLOPs

    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, tokens = c.patchCount + (c.clsToken ? 1 : 0)
        let forward = FlopCount.encoder(c, patches: c.patchCount, tokens: tokens)
        let n = Double(config.views + config.patches)
        let rows = Double(config.views * (config.views - 1) + config.patches * (config.patches - 1))
        let head = rows * (FlopCount.matmul(1, config.hidden, 2 * c.dimension) + FlopCount.matmul(1, 3, config.hidden))
        return (3 * n * forward, 3 * n * forward + 3 * head)
    }
}
