// From Patches to Objects: Exploiting Spatial Reasoning for Better Visual Representations
// (Albert, Eskofier, Zanca; arXiv May 2023, Discover Applied Sciences 2024); reference code
// mad-lab-fau/Spatial-Reasoning (methods/patchnet.py `Model.aggregate`, `patch_aggregate`,
// `train`; datamanager.py `PatchTinyImageFolder.patch_transform`, additive and standard modes). Spec:
// shared/specs/spatialreasoning-randsac-lomar.md §1.2, §1.3, §5. Documentation/Objectives/RR-SR.md.
//
// Equations, in the order a step realises them:
//   (1) per image: P patch positions, redrawn while the overlap rule rejects them. Additive mode:
//       ps×ps cut at (r_p, c_p), colour-transformed, pasted on a zero canvas of the image's size at
//       a random place, t_p = (r_p, c_p) / (S − ps). Standard mode: the image resized to
//       S' = ⌊S/ps · S⌋, S×S cut at (r_p, c_p) (a zoomed view of about ps×ps pixels),
//       colour-transformed, t_p = (r_p, c_p) / 2S (the code's /128 at S = 64)
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

/// How a patch is made (the code's `--additive` flag).
public enum PatchMode: String, Codable, Equatable, Sendable {
    /// `--additive`: a ps×ps cut of the image pasted on a zero canvas of the image's size.
    case additive
    /// The code's default: the image resized to S' = ⌊S/ps · S⌋ (bilinear) and an S×S cut of it,
    /// a zoomed view of about ps×ps original pixels at the encoder's full resolution.
    case standard
}

/// How the sampler keeps patches apart.
public enum PatchOverlapRule: String, Codable, Equatable, Sendable {
    /// The paper's intent: no two patches overlap (|Δr| ≥ e or |Δc| ≥ e for every pair, e the
    /// cut's extent: ps in additive mode, S in the resized image of standard mode).
    case pairwise
    /// The code's check: resample only while |pos₀ − pos₁| < e and |pos₂ − pos₃| < e, i.e. row
    /// against column of patches 0 and 1; patches may overlap (spec §5 q2).
    case code
}

public final class SpatialReasoning: Objective, Module {
    public struct Config: Codable, Equatable, Sendable {
        /// K image views (SR's README run: 4).
        public var views: Int = 4
        /// P, patches per image (`--patchcount`; README run 3).
        public var patches: Int = 3
        /// ps in view pixels: 12, 0.375 of a 32-px side as the README's 24 of 64 px. The default
        /// does not scale: a budget at another side sets it (`small` 24, `paper` 84).
        public var patchSize: Int = 12
        /// α, the MSE weight (`--alpha`).
        public var mseWeight: Double = 1
        public var overlapRule: PatchOverlapRule = .pairwise
        public var mode: PatchMode = .additive
        public var hidden: Int = 256
        public var learningRate: Double = 1e-3
        public var cropScale: [Double] = [0.08, 1.0]

        public init() {}

        /// `overlapRule` and `mode` are the arm's (the method table's `spatial-reasoning…`
        /// entries), so a budget block cannot name them and run.json's settings leave them out:
        /// the method's name says which arm ran.
        enum CodingKeys: String, CodingKey { case views, patches, patchSize, mseWeight, hidden, learningRate, cropScale }
    }

    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    public let head: RelationHead
    /// The code's `patch_transformations`, run on every cut patch (`patchTransform(size:mean:std:)`);
    /// nil leaves the cuts as they are (tests that compare the geometry on given pixels).
    public let patchTransform: ViewRecipe?

    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), patchTransform: ViewRecipe? = nil,
                methodName: String = "spatial-reasoning", dtype: DType = .float32, rng: inout RandomStream) {
        precondition(config.views >= 2 && config.patches >= 2, "Spatial Reasoning needs K ≥ 2 views and P ≥ 2 patches")
        precondition(config.patchSize >= 1 && config.patchSize < encoderConfig.imageSize, "Spatial Reasoning: ps in 1..<S")
        precondition(2 * config.patches <= Self.sampling(side: encoderConfig.imageSize, patchSize: config.patchSize, mode: config.mode).range,
                     "Spatial Reasoning draws 2P distinct positions")
        self.methodName = methodName
        self.config = config
        self.patchTransform = patchTransform
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        head = RelationHead(inputs: 2 * encoderConfig.dimension, hidden: config.hidden, outputs: 3, dtype: dtype, rng: &rng)
    }

    public func namedParameters() -> [(String, Tensor)] {
        encoder.namedParameters(prefix: "backbone") + head.namedParameters(prefix: "relation_module")
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    /// RR's K views, then P whole images the patches are cut from: no crop, no flip, no colour
    /// change and no normalisation, because the code transforms each cut (`patchTransform`).
    public static func recipe(_ config: Config, size: Int, mean: [Float], std: [Float]) -> MultiCropRecipe {
        var recipe = RelationalReasoning.recipe(views: config.views, size: size, scale: config.cropScale, mean: mean, std: std)
        var source = recipe.views[0]
        source.scale = 1.0...1.0
        source.ratio = 1.0...1.0
        source.flipProbability = 0
        source.jitter = nil
        source.grayscaleProbability = 0
        source.mean = [0, 0, 0]
        source.std = [1, 1, 1]
        recipe.views += [ViewRecipe](repeating: source, count: config.patches)
        return recipe
    }

    /// `datamanager.py`'s `patch_transformations`, applied to each cut (ps×ps in additive mode, the
    /// S×S cut of the enlarged image in standard mode): ColorJitter(0.8, 0.8, 0.8, 0.2) with p 0.8,
    /// grayscale p 0.2, normalised with the budget's statistics — RR's view without its geometry.
    /// Contrast then blends towards the patch's own mean, not the whole image's.
    public static func patchTransform(size: Int, mean: [Float], std: [Float]) -> ViewRecipe {
        var transform = RelationalReasoning.recipe(views: 1, size: size, scale: [1, 1], mean: mean, std: std).views[0]
        transform.flipProbability = 0
        return transform
    }

    public func initialState() -> ObjectiveState { BatchNormState.initial(head.bn1, prefix: "relation_module") }

    public func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup] {
        AuthorsAdam.groups(namedParameters(), learningRate: config.learningRate, steps: plan.learningRate.count)
    }

    public var adam: AdamSettings? { AdamSettings.torchDefaults }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        let k = config.views, p = config.patches, b = batch.count
        precondition(batch.views.count == k + p, "Spatial Reasoning takes K + P = \(k + p) views, got \(batch.views.count)")
        let side = batch.views[k].images.shape[2]
        let placements = (0..<b).map { _ in                                                            // Eq. (1)
            Self.samplePlacements(count: p, side: side, patchSize: config.patchSize, rule: config.overlapRule, mode: config.mode,
                                  rng: &rng)
        }
        let sources = (0..<p).map { batch.views[k + $0].images }
        let transform = patchTransform
        let patches = switch config.mode {
        case .additive:
            Self.canvases(sources, placements: placements, patchSize: config.patchSize) { transform?.colour($0, rng: &rng) ?? $0 }
        case .standard:
            Self.zoomedCrops(sources, placements: placements, patchSize: config.patchSize) { transform?.colour($0, rng: &rng) ?? $0 }
        }
        let features = GlobalFeatures.of(encoder, Tensor.concat([batch.images(0..<k), patches], axis: 0))    // Eq. (2)
        let imageFeatures = features.slice(axis: 0, 0..<(k * b)), patchFeatures = features.slice(axis: 0, (k * b)..<((k + p) * b))
        let targets = Self.targets(placements, side: side, patchSize: config.patchSize, mode: config.mode)
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

    /// t_p = (r_p, c_p) / n per patch, patch-major [P·B, 2]: additive mode's
    /// `positions/(64 − patch_size)` (n = S − ps with 64 the side), standard mode's
    /// `positions/128` (n = 2S: the code's constant generalised to the side, so the targets keep
    /// the code's scale, below (S' − S)/2S ≈ 0.83 at ps = 3S/8).
    public static func targets(_ placements: [[PatchPlacement]], side: Int, patchSize: Int, mode: PatchMode = .additive) -> Tensor {
        let b = placements.count, p = placements.first?.count ?? 0
        let range = Double(mode == .additive ? side - patchSize : 2 * side)
        var t = [Double](repeating: 0, count: p * b * 2)
        for s in 0..<b {
            for q in 0..<p {
                t[(q * b + s) * 2] = Double(placements[s][q].row) / range
                t[(q * b + s) * 2 + 1] = Double(placements[s][q].column) / range
            }
        }
        return Tensor(t, shape: [p * b, 2])
    }

    /// The side S' = ⌊S/ps · S⌋ standard mode resizes the image to (the code's
    /// `int((64/patch_size)*64)`, 170 at 64 px and ps 24, 85 at 32 px and ps 12).
    public static func zoomedSide(side: Int, patchSize ps: Int) -> Int { Int(Double(side) / Double(ps) * Double(side)) }

    /// Positions are drawn from 0..<range, and a cut spans `extent` pixels, in the image the
    /// positions index: additive S − ps and ps in the image; standard S' − S and S in the resized one.
    public static func sampling(side: Int, patchSize ps: Int, mode: PatchMode) -> (range: Int, extent: Int) {
        switch mode {
        case .additive: return (side - ps, ps)
        case .standard: return (zoomedSide(side: side, patchSize: ps) - side, side)
        }
    }

    /// Eq. (1), one image: 2P distinct integers of 0..<range (`random.sample`), patch p at
    /// (pos[2p], pos[2p + 1]), drawn again while `rule` finds an overlap; then, in additive mode
    /// only, each patch's canvas corner as 2 distinct integers of the same range (standard mode's
    /// placements keep canvas corner (0, 0): the cut is the whole input).
    public static func samplePlacements(count p: Int, side: Int, patchSize ps: Int, rule: PatchOverlapRule,
                                        mode: PatchMode = .additive, rng: inout RandomStream) -> [PatchPlacement] {
        let (range, extent) = sampling(side: side, patchSize: ps, mode: mode)
        precondition(p >= 2 && 2 * p <= range, "patch sampling: P = \(p) ≥ 2 and 2P ≤ \(range) positions")
        var positions = sample(2 * p, from: range, rng: &rng)
        var tries = 1
        while overlaps(positions, patchSize: extent, rule: rule) {
            precondition(tries < 100_000, "patch sampling: no non-overlapping placement of \(p) cuts of \(extent) in \(range + extent) after \(tries) tries")
            positions = sample(2 * p, from: range, rng: &rng)
            tries += 1
        }
        return (0..<p).map { q in
            let canvas = mode == .additive ? sample(2, from: range, rng: &rng) : [0, 0]
            return PatchPlacement(row: positions[2 * q], column: positions[2 * q + 1], canvasRow: canvas[0], canvasColumn: canvas[1])
        }
    }

    /// Whether `rule` rejects these positions (patch q at (pos[2q], pos[2q + 1]); `ps` the cut's extent).
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
    /// normalised patches onto `torch.zeros`) with patch q of sample s cut from sources[q][s],
    /// passed through `transform` (the patch transform; C channels in and out), then pasted.
    /// Patches are cut and transformed patch-major, sample by sample.
    public static func canvases(_ sources: [Tensor], placements: [[PatchPlacement]], patchSize ps: Int,
                                transform: (AugmentImage) -> AugmentImage = { $0 }) -> Tensor {
        let p = sources.count, b = sources[0].shape[0], c = sources[0].shape[1], side = sources[0].shape[2]
        let plane = side * side, image = c * plane
        var out = [Float](repeating: 0, count: p * b * image)
        for q in 0..<p {
            let src = sources[q].floats
            for s in 0..<b {
                let at = placements[s][q], o = (q * b + s) * image, i = s * image
                var cut = AugmentImage(channels: c, height: ps, width: ps, pixels: [Float](repeating: 0, count: c * ps * ps))
                for ch in 0..<c {
                    for y in 0..<ps {
                        let from = i + ch * plane + (at.row + y) * side + at.column
                        cut.pixels.replaceSubrange((ch * ps + y) * ps..<((ch * ps + y + 1) * ps), with: src[from..<(from + ps)])
                    }
                }
                cut = transform(cut)
                precondition(cut.channels == c && cut.height == ps && cut.width == ps, "the patch transform changed the cut's shape")
                for ch in 0..<c {
                    for y in 0..<ps {
                        let to = o + ch * plane + (at.canvasRow + y) * side + at.canvasColumn
                        out.replaceSubrange(to..<(to + ps), with: cut.pixels[((ch * ps + y) * ps)..<((ch * ps + y + 1) * ps)])
                    }
                }
            }
        }
        return Tensor(floats: out, shape: [p * b, c, side, side])
    }

    /// Standard mode's patches, patch-major [P·B, C, S, S]: source q of sample s resized to
    /// S' × S' (bilinear, align_corners = False: PIL's bilinear `Resize` when enlarging, which the
    /// code applies to the uint8 image before `ToTensor`), cut S×S at (row, column) and passed
    /// through `transform` (the patch transform).
    public static func zoomedCrops(_ sources: [Tensor], placements: [[PatchPlacement]], patchSize ps: Int,
                                   transform: (AugmentImage) -> AugmentImage = { $0 }) -> Tensor {
        let p = sources.count, b = sources[0].shape[0], c = sources[0].shape[1], side = sources[0].shape[2]
        let zoomed = zoomedSide(side: side, patchSize: ps)
        let image = c * side * side
        var out = [Float](repeating: 0, count: p * b * image)
        for q in 0..<p {
            let src = sources[q].floats
            for s in 0..<b {
                let at = placements[s][q], o = (q * b + s) * image
                let source = AugmentImage(channels: c, height: side, width: side, pixels: Array(src[(s * image)..<((s + 1) * image)]))
                let resized = Augment.resizedCrop(source, box: CropBox(top: 0, left: 0, height: side, width: side),
                                                  outputHeight: zoomed, outputWidth: zoomed, interpolation: .bilinear)
                precondition(at.row + side <= zoomed && at.column + side <= zoomed, "standard-mode cut at \(at) outside \(zoomed)")
                var cut = AugmentImage(channels: c, height: side, width: side, pixels: [Float](repeating: 0, count: image))
                for ch in 0..<c {
                    for y in 0..<side {
                        let from = (ch * zoomed + at.row + y) * zoomed + at.column
                        cut.pixels.replaceSubrange(((ch * side + y) * side)..<((ch * side + y + 1) * side),
                                                   with: resized.pixels[from..<(from + side)])
                    }
                }
                cut = transform(cut)
                precondition(cut.channels == c && cut.height == side && cut.width == side, "the patch transform changed the cut's shape")
                out.replaceSubrange(o..<(o + image), with: cut.pixels)
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
