// Masked Autoencoders Are Scalable Vision Learners (He et al.), arXiv:2111.06377;
// reference code facebookresearch/mae (models_mae.py). Spec: shared/specs §3.
//
// Equations, in the order the code realises them:
//   (1) x = PatchEmbed(img) + E_pos                       fixed 2-D sin-cos encoder PE
//   (2) keep = first ⌊N(1 − r)⌋ of a random permutation    per sample, r = 0.75
//   (3) z = Encoder([cls + E_pos,cls ; x_keep])            visible tokens only
//   (4) u = W_dec z ; fill removed slots with [M]; unshuffle; + E_pos,dec
//                                                         separate fixed sin-cos decoder PE
//   (5) ŷ = Linear(LN(DecoderBlocks(u)))[1:]               p²·3 values per patch
//   (6) t = (patch − μ) / √(σ²ₙ₋₁ + 1e-6)                  per-patch norm-pix target
//   (7) L = Σ_i m_i · mean((ŷ_i − t_i)²) / Σ_i m_i          m = 1 on removed patches only
import Foundation
import Layers
import TensorCore

public final class MAE: SingleViewObjective, Module {
    /// Hyperparameters; defaults are the paper's (ViT-B decoder 512-d, 8 blocks, 16 heads).
    public struct Config: Codable, Equatable, Sendable {
        /// r, fraction of patches removed per sample (Eq. 2).
        public var maskRatio: Double = 0.75
        public var decoderDimension: Int = 512
        public var decoderDepth: Int = 8
        public var decoderHeads: Int = 16
        /// Normalise targets per patch (Eq. 6); MAE's `norm_pix_loss`.
        public var normPixLoss: Bool = true
        public init() {}
    }

    public let methodName = "mae"
    public let config: Config
    public let encoder: VisionTransformer
    public let decoderEmbed: Linear
    public let maskToken: Tensor
    /// [1, N + 1, D_dec]; fixed, not a parameter.
    public let decoderPositions: Tensor
    public let decoderBlocks: [Block]
    public let decoderNorm: LayerNorm
    public let decoderPrediction: Linear

    /// The encoder must use the fixed sin-cos position embedding and a CLS token (spec §3).
    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), dtype: DType = .float32,
                rng: inout RandomStream) {
        precondition(encoderConfig.positionEmbedding == .sinCos && encoderConfig.clsToken,
                     "MAE's encoder uses a CLS token and the fixed sin-cos position embedding")
        self.config = config
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        let c = encoderConfig, dd = config.decoderDimension
        decoderEmbed = Linear(c.dimension, dd, dtype: dtype, rng: &rng)
        maskToken = Initializer.truncatedNormal([1, 1, dd], std: 0.02, dtype: dtype, rng: &rng)
        decoderPositions = SinCosPositionEmbedding.tensor(dimension: dd, grid: c.grid, clsToken: true, dtype: dtype)
        decoderBlocks = (0..<config.decoderDepth).map { _ in
            Block(dd, heads: config.decoderHeads, eps: c.layerNormEps, dtype: dtype, rng: &rng)
        }
        decoderNorm = LayerNorm(dd, eps: c.layerNormEps, dtype: dtype)
        decoderPrediction = Linear(dd, c.patchSize * c.patchSize * c.channels, dtype: dtype, rng: &rng)
    }

    public func loss(images: Tensor, rng: inout RandomStream) -> ObjectiveLoss {
        let mask = PatchMask.random(batch: images.shape[0], tokens: encoder.config.patchCount,
                                    ratio: config.maskRatio, rng: &rng)                  // Eq. (2)
        return loss(images: images, mask: mask)
    }

    /// The loss for a given mask (tests pass fixed masks). images [B, C, H, W].
    public func loss(images: Tensor, mask: PatchMask) -> ObjectiveLoss {
        let prediction = reconstruct(images: images, mask: mask)
        let target = PixelTargets.normalizedPatches(images, patch: encoder.config.patchSize,
                                                    normalize: config.normPixLoss)         // Eq. (6)
        let removed = mask.removedTensor(dtype: images.dtype)
        let l = PixelTargets.maskedLoss(prediction: prediction, target: target, removed: removed)  // Eq. (7)
        return ObjectiveLoss(loss: l, terms: [("mse_masked", l.item)])
    }

    /// Encoder on the visible tokens: [B, 1 + K, D] (CLS first). Removed tokens never enter.
    public func encodeVisible(images: Tensor, mask: PatchMask) -> Tensor {
        precondition(mask.batch == images.shape[0] && mask.tokens == encoder.config.patchCount,
                     "MAE: mask for \(mask.batch)×\(mask.tokens) tokens, images \(images.shape)")
        let tokens = encoder.embed(images)                                                  // Eq. (1)
        let visible = tokens.gatherTokens(mask.keep)
        var none: RandomStream? = nil
        return encoder.encode(encoder.prependCls(visible), dropPathRNG: &none)              // Eq. (3)
    }

    /// Per-patch predictions [B, N, p²·C] in raster order.
    public func reconstruct(images: Tensor, mask: PatchMask) -> Tensor {
        let b = images.shape[0], n = mask.tokens, kept = mask.keep[0].count, dd = config.decoderDimension
        let latent = decoderEmbed(encodeVisible(images: images, mask: mask))               // Eq. (4)
        let cls = latent.slice(axis: 1, 0..<1)
        let visible = latent.slice(axis: 1, 1..<(kept + 1))
        let fill = maskToken + Tensor.zeros([b, n - kept, dd], dtype: images.dtype)
        let unshuffled = Tensor.concat([visible, fill], axis: 1).gatherTokens(mask.restore)
        var y = Tensor.concat([cls, unshuffled], axis: 1) + decoderPositions
        for block in decoderBlocks { y = block(y) }
        return decoderPrediction(decoderNorm(y)).slice(axis: 1, 1..<(n + 1))              // Eq. (5)
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    public func namedParameters() -> [(String, Tensor)] {
        var p = encoder.namedParameters()
        p += decoderEmbed.namedParameters(prefix: "decoder_embed")
        p.append(("mask_token", maskToken))
        for (i, block) in decoderBlocks.enumerated() { p += block.namedParameters(prefix: "decoder_blocks.\(i)") }
        p += decoderNorm.namedParameters(prefix: "decoder_norm")
        p += decoderPrediction.namedParameters(prefix: "decoder_pred")
        return p
    }

    /// Encoder on 1 + ⌊N(1 − r)⌋ tokens; decoder on N + 1 tokens; ×3 for the backward pass.
    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, n = c.patchCount, kept = Int(Double(n) * (1 - config.maskRatio))
        let dd = config.decoderDimension
        let enc = FlopCount.encoder(c, patches: n, tokens: kept + 1)
        let dec = FlopCount.matmul(kept + 1, dd, c.dimension)
            + Double(config.decoderDepth) * FlopCount.block(tokens: n + 1, width: dd, heads: config.decoderHeads)
            + FlopCount.matmul(n + 1, c.patchSize * c.patchSize * c.channels, dd)
        return (3 * enc, 3 * (enc + dec))
    }
}
