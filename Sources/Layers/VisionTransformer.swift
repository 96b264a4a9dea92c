import TensorCore

/// The ViT encoder every method pretrains (timm's `VisionTransformer` structure and key names):
/// PatchEmbed → (+ position embedding) → [CLS] prepended → pre-norm Blocks → final LayerNorm.
public struct ViTConfig: Codable, Equatable, Sendable {
    public enum PositionEmbedding: String, Codable, Sendable {
        /// A trainable [1, N(+1), D] table (timm default), initialised N(0, 0.02) truncated.
        case learned
        /// MAE's fixed 2-D sin-cos table (not trainable, not a parameter).
        case sinCos = "sincos"
        /// No absolute position (LoMaR uses relative attention bias instead).
        case none
    }

    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int = 3
    public var dimension: Int
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Double = 4
    public var clsToken: Bool = true
    public var positionEmbedding: PositionEmbedding = .learned
    public var dropPath: Double = 0
    public var layerNormEps: Double = 1e-6
    /// How a learned position embedding is resized for another grid: nil samples by the sizes,
    /// 0.1 is DINO's `interpolate_pos_encoding` (scale factor (g + 0.1)/G). Absent from the
    /// configs of encoders that never set it.
    public var positionInterpolationOffset: Double? = nil
    /// false: no final LayerNorm (SelfPatch's backbone, whose aggregation module normalises).
    /// nil means true and is left out of configs, so older encoder files read unchanged.
    public var finalNorm: Bool? = nil
    public var hasFinalNorm: Bool { finalNorm ?? true }
    /// How the patch embedding and the blocks' Linear layers start (`.truncatedNormal`: DINO's
    /// and SelfPatch's ViT). nil means `.xavier` (MAE's) and is left out of configs, so older
    /// encoder files and run hashes read unchanged.
    public var initialization: WeightInitialization? = nil

    public init(imageSize: Int, patchSize: Int, channels: Int = 3, dimension: Int, depth: Int, heads: Int,
                mlpRatio: Double = 4, clsToken: Bool = true, positionEmbedding: PositionEmbedding = .learned,
                dropPath: Double = 0, layerNormEps: Double = 1e-6) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.dimension = dimension
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
        self.clsToken = clsToken
        self.positionEmbedding = positionEmbedding
        self.dropPath = dropPath
        self.layerNormEps = layerNormEps
    }

    public var grid: Int { imageSize / patchSize }
    public var patchCount: Int { grid * grid }

    /// The anchor's tiny-32 encoder (and the `tiny` budget): 32 px, patch 4, D 192, depth 6, 3 heads.
    public static let tiny32 = ViTConfig(imageSize: 32, patchSize: 4, dimension: 192, depth: 6, heads: 3)
    /// The anchor's small-64 encoder: 64 px, patch 8, otherwise tiny-32.
    public static let small64 = ViTConfig(imageSize: 64, patchSize: 8, dimension: 192, depth: 6, heads: 3)
}

/// An attention bias computed per block from that block's qkv [B, T, 3D]: (block index, qkv) →
/// an additive bias [B, H, T, T], [H, T, T] or [T, T].
public typealias BlockAttentionBias = (_ block: Int, _ qkv: Tensor) -> Tensor

public final class VisionTransformer: Module {
    public let config: ViTConfig
    public let patchEmbed: PatchEmbed
    public let clsToken: Tensor?
    /// [1, N(+1 when CLS), D]; a parameter only for `.learned`.
    public let positionEmbedding: Tensor?
    public let blocks: [Block]
    public let norm: LayerNorm

    public init(_ config: ViTConfig, dtype: DType = .float32, rng: inout RandomStream) {
        precondition(config.imageSize % config.patchSize == 0, "image size must be a multiple of the patch size")
        self.config = config
        let d = config.dimension
        let initialization = config.initialization ?? .xavier
        patchEmbed = PatchEmbed(patch: config.patchSize, channels: config.channels, dimension: d,
                                initialization: initialization, dtype: dtype, rng: &rng)
        clsToken = config.clsToken ? Initializer.truncatedNormal([1, 1, d], std: 0.02, dtype: dtype, rng: &rng) : nil
        let tokens = config.patchCount + (config.clsToken ? 1 : 0)
        switch config.positionEmbedding {
        case .learned: positionEmbedding = Initializer.truncatedNormal([1, tokens, d], std: 0.02, dtype: dtype, rng: &rng)
        case .sinCos: positionEmbedding = SinCosPositionEmbedding.tensor(dimension: d, grid: config.grid, clsToken: config.clsToken, dtype: dtype)
        case .none: positionEmbedding = nil
        }
        var blocks: [Block] = []
        for i in 0..<config.depth {
            // Stochastic depth grows linearly with depth (timm's rule).
            let dp = config.depth > 1 ? config.dropPath * Double(i) / Double(config.depth - 1) : config.dropPath
            blocks.append(Block(d, heads: config.heads, mlpRatio: config.mlpRatio, dropPath: dp, eps: config.layerNormEps,
                                initialization: initialization, dtype: dtype, rng: &rng))
        }
        self.blocks = blocks
        norm = LayerNorm(d, eps: config.layerNormEps, dtype: dtype)
    }

    /// Position embedding of the patch tokens for a g×g grid: [1, g·g, D] (bicubically
    /// resized when g differs from the training grid, as DINO does for local crops).
    public func patchPositions(grid g: Int) -> Tensor? {
        guard let pe = positionEmbedding else { return nil }
        let patches = config.clsToken ? pe.slice(axis: 1, 1..<pe.shape[1]) : pe
        return GridInterpolation.resize(patches, from: config.grid, to: g, offset: config.positionInterpolationOffset)
    }

    /// images [B, C, H, W] → patch tokens with position [B, N, D] (no CLS).
    public func embed(_ images: Tensor) -> Tensor {
        let x = patchEmbed(images)
        let g = images.shape[2] / config.patchSize
        precondition(images.shape[2] == images.shape[3], "square images expected, got \(images.shape)")
        if let pos = patchPositions(grid: g) { return x + pos }
        return x
    }

    /// Prepends CLS (+ its position embedding): [B, N, D] → [B, N+1, D]. Identity without CLS.
    public func prependCls(_ tokens: Tensor) -> Tensor {
        guard let cls = clsToken else { return tokens }
        var c = cls
        if let pe = positionEmbedding { c = c + pe.slice(axis: 1, 0..<1) }
        let b = tokens.shape[0]
        let expanded = c + Tensor.zeros([b, 1, config.dimension], dtype: tokens.dtype)
        return Tensor.concat([expanded, tokens], axis: 1)
    }

    /// Runs the blocks and the final norm on tokens [B, T, D].
    public func encode(_ tokens: Tensor, bias: Tensor? = nil, blockBias: BlockAttentionBias? = nil, mask: Tensor? = nil,
                       dropPathRNG: inout RandomStream?) -> Tensor {
        encode(tokens, bias: bias, blockBias: blockBias, mask: mask, dropPathRNG: &dropPathRNG, keepingLast: 1)[0]
    }

    /// The outputs of the last `count` blocks, oldest first, each through the final norm (when
    /// the encoder has one), as DINO's `get_intermediate_layers` returns them for its last-blocks
    /// readout; the last element is what `encode` returns. `bias` is added in every block;
    /// `blockBias` instead computes each block's bias from that block's qkv (LoMaR's relative
    /// position), so one loop serves every method and every readout. `normalized` false: the
    /// blocks' outputs as they leave them (RandSAC normalises its skip mix's with its own norms).
    public func encode(_ tokens: Tensor, bias: Tensor? = nil, blockBias: BlockAttentionBias? = nil, mask: Tensor? = nil,
                       dropPathRNG: inout RandomStream?, keepingLast count: Int, normalized: Bool = true) -> [Tensor] {
        precondition(count >= 1 && count <= blocks.count, "keep 1…\(blocks.count) block outputs, not \(count)")
        precondition(bias == nil || blockBias == nil, "give a fixed bias or a per-block bias, not both")
        var x = tokens
        var kept: [Tensor] = []
        for (index, block) in blocks.enumerated() {
            if let blockBias {
                x = block(x, biasFromQKV: { blockBias(index, $0) }, mask: mask, dropPathRNG: &dropPathRNG)
            } else {
                x = block(x, bias: bias, mask: mask, dropPathRNG: &dropPathRNG)
            }
            if index >= blocks.count - count { kept.append(normalized && config.hasFinalNorm ? norm(x) : x) }
        }
        return kept
    }

    /// images → normalised tokens [B, N(+1), D] (CLS first when present). Evaluation mode.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        var none: RandomStream? = nil
        return encode(prependCls(embed(images)), dropPathRNG: &none)
    }

    public func namedParameters() -> [(String, Tensor)] {
        var p: [(String, Tensor)] = []
        if let clsToken { p.append(("cls_token", clsToken)) }
        if config.positionEmbedding == .learned, let pe = positionEmbedding { p.append(("pos_embed", pe)) }
        p += patchEmbed.namedParameters(prefix: "patch_embed")
        for (i, b) in blocks.enumerated() { p += b.namedParameters(prefix: "blocks.\(i)") }
        if config.hasFinalNorm { p += norm.namedParameters(prefix: "norm") }
        return p
    }
}
