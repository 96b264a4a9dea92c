// Efficient Self-supervised Vision Pretraining with Local Masked Reconstruction (LoMaR;
// Chen, Hu, Li, Elhoseiny), arXiv:2206.00790; reference code junchen14/LoMaR (models_lomar.py).
// Spec: shared/specs §4; where the code and the paper differ: Documentation/Objectives/LoMaR.md.
//
// Equations, in the order the code realises them:
//   (1) x = PatchEmbed(img)                                  no absolute position anywhere
//   (2) windows (top_k, left_k), k < n_w: tops = randperm(G − s + 1)[:n_w], lefts likewise,
//       drawn once per step and shared by the batch (may overlap)
//   (3) per (image, window): m = 1 on ⌊s²·0.8⌋ uniformly drawn window tokens (1 = removed)
//   (4) x̃_w = (1 − m) ⊙ x_w + m ⊙ [M]                        learned mask token in the encoder
//   (5) z = Encoder_iRPE([cls ; x̃_w])                         relative position bias on s×s
//   (6) ŷ = Linear(z)[1:]                                     no decoder; p²·3 per token
//   (7) t = (patch − μ) / √(σ²ₙ₋₁ + 1e-6)                     norm-pix target
//   (8) L = Σ m · mean((ŷ − t)²) / Σ m                        over removed tokens of all windows
import Foundation
import Layers
import TensorCore

public final class LoMaR: SingleViewObjective, Module {
    /// How sequences pair images with windows.
    public enum WindowAssignment: String, Codable, Sendable {
        /// The paper: every image is reconstructed in each of the n_w windows (row = b·n_w + k).
        case perImage = "per_image"
        /// The official code's reshape order: row r pairs image r mod B with window r mod n_w,
        /// so with B % n_w = 0 an image gets one window location n_w times (spec §5 LoMaR 2).
        case officialCode = "official_code"
    }

    /// Hyperparameters; defaults are the paper's (7×7 windows, 4 windows, 80% masked).
    public struct Config: Codable, Equatable, Sendable {
        /// s, window side in patches (4 on 8×8 grids, 7 on grids of 14 and more).
        public var windowSize: Int = 7
        /// n_w, windows per step.
        public var windowCount: Int = 4
        public var maskRatio: Double = 0.8
        public var relativePosition: RelativePositionKind = .contextualProduct
        public var windowAssignment: WindowAssignment = .perImage
        public var normPixLoss: Bool = true
        /// `window` (default): iRPE's offset → bucket mapping where the windows reach its last
        /// bucket (s ≥ 5), else a clip at s − 1, so no bucket a larger grid uses stays untrained;
        /// `irpe`: iRPE's mapping always (the official code; with s = 4 half the buckets stay zero).
        public var buckets: BucketChoice = .window
        /// The q of the contextual product: nil is the official code's unscaled q; `scaled` is
        /// iRPE's q/√d_h (the arm `lomar-scaled-q`). Optional so that run.json, and the config hash
        /// of every run written before the option, omit the default.
        public var rpeQuery: RelativePositionQuery? = nil
        public init() {}

        public enum BucketChoice: String, Codable, Sendable {
            case window, irpe
        }

        /// The mapping this config trains with.
        public var bucketing: RelativePositionBucketing {
            buckets == .irpe ? .irpe : .forWindow(windowSize)
        }
    }

    /// The windows and masks of one step. Masks are per row (image, window) in row order.
    public struct Windows: Equatable, Sendable {
        public var tops: [Int]
        public var lefts: [Int]
        /// removed[r] lists window-local token indices (raster order in the window) that are masked.
        public var removed: [[Int]]
        public init(tops: [Int], lefts: [Int], removed: [[Int]]) {
            precondition(tops.count == lefts.count, "LoMaR.Windows: \(tops.count) tops, \(lefts.count) lefts")
            self.tops = tops
            self.lefts = lefts
            self.removed = removed
        }
    }

    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    public let maskToken: Tensor
    public let relativePosition: RelativePositionBias
    public let head: Linear

    /// The encoder must have no absolute position embedding and a CLS token (spec §4.1).
    /// `methodName`: the method-table name an arm records in encoder.h5 (default: lomar or
    /// lomar-rpe-table by the relative-position kind).
    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), methodName: String? = nil, dtype: DType = .float32,
                rng: inout RandomStream) {
        precondition(encoderConfig.positionEmbedding == .none && encoderConfig.clsToken,
                     "LoMaR's encoder has a CLS token and no absolute position embedding")
        precondition(config.windowSize <= encoderConfig.grid, "window \(config.windowSize) exceeds the \(encoderConfig.grid)-grid")
        self.config = config
        self.methodName = methodName ?? (config.relativePosition == .contextualProduct ? "lomar" : "lomar-rpe-table")
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        maskToken = Initializer.truncatedNormal([1, 1, encoderConfig.dimension], std: 0.02, dtype: dtype, rng: &rng)
        relativePosition = RelativePositionBias(kind: config.relativePosition, bucketing: config.bucketing,
                                                query: config.rpeQuery ?? .unscaled, encoder: encoderConfig, dtype: dtype)
        let c = encoderConfig
        head = Linear(c.dimension, c.patchSize * c.patchSize * c.channels, dtype: dtype, rng: &rng)
    }

    /// Windows (Eq. 2) and per-row masks (Eq. 3) for a batch of `batch` images.
    public func sampleWindows(batch: Int, rng: inout RandomStream) -> Windows {
        let g = encoder.config.grid, s = config.windowSize, positions = g - s + 1
        let count = min(config.windowCount, positions)  // the official code silently gives fewer
        let tops = Array(rng.permutation(positions).prefix(count))
        let lefts = Array(rng.permutation(positions).prefix(count))
        let kept = s * s - Int(Double(s * s) * config.maskRatio)
        let removed = (0..<(batch * count)).map { _ in Array(rng.permutation(s * s)[kept...]).sorted() }
        return Windows(tops: tops, lefts: lefts, removed: removed)
    }

    /// (image, window) of sequence row r.
    public func assignment(row r: Int, batch: Int, windows: Int) -> (image: Int, window: Int) {
        switch config.windowAssignment {
        case .perImage: return (r / windows, r % windows)
        case .officialCode: return (r % batch, r % windows)
        }
    }

    /// Flat token indices (image·N + grid index) of every row's window tokens, raster order.
    func windowRows(batch: Int, windows w: Windows) -> [Int] {
        let g = encoder.config.grid, s = config.windowSize, n = encoder.config.patchCount
        var rows = [Int]()
        for r in 0..<(batch * w.tops.count) {
            let (image, k) = assignment(row: r, batch: batch, windows: w.tops.count)
            for dy in 0..<s { for dx in 0..<s { rows.append(image * n + (w.tops[k] + dy) * g + w.lefts[k] + dx) } }
        }
        return rows
    }

    public func loss(images: Tensor, rng: inout RandomStream) -> ObjectiveLoss {
        loss(images: images, windows: sampleWindows(batch: images.shape[0], rng: &rng))
    }

    /// The loss for given windows and masks (tests pass fixed ones).
    public func loss(images: Tensor, windows: Windows) -> ObjectiveLoss {
        let (prediction, target, removed) = forward(images: images, windows: windows)
        let l = PixelTargets.maskedLoss(prediction: prediction, target: target, removed: removed)  // Eq. (8)
        return ObjectiveLoss(loss: l, terms: [("mse_masked", l.item)])
    }

    /// Predictions and targets [R, s², p²·C] and the removed mask [R, s²], R = B·n_w rows.
    public func forward(images: Tensor, windows w: Windows) -> (prediction: Tensor, target: Tensor, removed: Tensor) {
        let b = images.shape[0], s = config.windowSize, d = encoder.config.dimension, n = encoder.config.patchCount
        let r = b * w.tops.count
        precondition(w.removed.count == r, "LoMaR: \(w.removed.count) masks for \(r) rows")
        let rows = windowRows(batch: b, windows: w)
        let tokens = encoder.embed(images).reshaped([b * n, d])                             // Eq. (1)
        let windowTokens = tokens.gatherRows(rows).reshaped([r, s * s, d])
        var removedValues = [Double](repeating: 0, count: r * s * s)
        for (row, ids) in w.removed.enumerated() { for i in ids { removedValues[row * s * s + i] = 1 } }
        let removed = Tensor(removedValues, shape: [r, s * s], dtype: images.dtype)
        let removedColumn = removed.reshaped([r, s * s, 1])
        let keptColumn = Tensor(removedValues.map { 1 - $0 }, shape: [r, s * s, 1], dtype: images.dtype)
        let masked = windowTokens * keptColumn + maskToken * removedColumn                 // Eq. (4)
        var noDropPath: RandomStream? = nil
        let z = encoder.encode(encoder.prependCls(masked), blockBias: relativePosition.blockBias(grid: s),  // Eq. (5)
                               dropPathRNG: &noDropPath)
        let prediction = head(z.slice(axis: 1, 1..<(s * s + 1)))                             // Eq. (6)
        let pixels = PixelTargets.normalizedPatches(images, patch: encoder.config.patchSize,
                                                    normalize: config.normPixLoss)          // Eq. (7)
        let p = pixels.shape[2]
        let target = pixels.reshaped([b * n, p]).gatherRows(rows).reshaped([r, s * s, p])
        return (prediction, target, removed)
    }

    /// The ViT tensors plus the relative-position tables evaluation needs.
    public func encoderExtras() -> [(String, Tensor)] { relativePosition.namedParameters() }

    public func exportedAttributes() -> [String: String] { relativePosition.exportedAttributes }

    public func namedParameters() -> [(String, Tensor)] {
        var p = encoder.namedParameters()
        p += relativePosition.namedParameters()
        p.append(("mask_token", maskToken))
        p += head.namedParameters(prefix: "encoder_pred")  // the official key
        return p
    }

    /// Patch embedding of the whole image, then n_w windows of s² + 1 tokens through the encoder.
    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, s = config.windowSize, t = s * s + 1
        let windows = Double(min(config.windowCount, c.grid - s + 1))
        let perWindow = Double(c.depth) * (FlopCount.block(tokens: t, width: c.dimension, heads: c.heads, mlpRatio: c.mlpRatio)
                                           + relativePosition.flops(tokens: t, width: c.dimension))
        let enc = FlopCount.matmul(c.patchCount, c.dimension, c.patchSize * c.patchSize * c.channels) + windows * perWindow
        let headFlops = windows * FlopCount.matmul(s * s, c.patchSize * c.patchSize * c.channels, c.dimension)
        return (3 * enc, 3 * (enc + headFlops))
    }
}
