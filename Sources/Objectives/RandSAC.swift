// RandSAC: Self-supervision through Random Segments with Autoregressive Coding (Hua et al.), ICLR'23,
// arXiv:2203.12054. No official code exists; this is written from the ICLR main text
// (spec shared/specs §2.1), and the choices the text leaves open are ours
// (Documentation/Objectives/RandSAC.md). Correctness is shown by properties (RandSACTests).
//
// Equations, in the order of the paper's §3–4:
//   (1) x = PatchEmbed(img) + E_pos                 fixed 2-D sin-cos PE, no CLS
//   (2) s₁ … s_K = serialize(segments, partitions)  per sample, from the mask stream
//   (3) H¹ … H^L = Encoder(x; block-causal mask)    token of rank r sees ranks ≤ r
//   (4) Z^l = Σ_k softmax(W_l)_k · LN_k(H^k)        learned L_dec × L_enc skip mix (§4.2); LN_L the
//                                                   encoder's final norm, LN_1 … LN_{L−1} RandSAC's own
//   (5) q = E_pos,dec                               position-only queries, no content
//   (6) y = DecoderBlocks(q; Z; block-causal self mask over targets, memory mask rⱼ < rᵢ)
//   (7) ŷ = Linear(LN(y))                            p²·C values per token
//   (8) L = mean over tokens of s₂ … s_K of mean((ŷ − t)²)   t: MAE's norm-pix target (or raw pixels)
import Foundation
import Layers
import TensorCore

public final class RandSAC: SingleViewObjective, Module {
    /// Hyperparameters. The paper gives none for its CIFAR models (the supplement is missing):
    /// the decoder defaults to the `tiny` MAE decoder's size so the two reconstruct through
    /// decoders of one size.
    public struct Config: Codable, Equatable, Sendable {
        public var serialization = SerializationRule(segments: .square, squareSize: 2, partitions: 4, order: .random)
        public var decoderDimension: Int = 128
        public var decoderDepth: Int = 2
        public var decoderHeads: Int = 4
        /// The learned skip mix of encoder layers (Eq. 4); false: every decoder layer reads the
        /// encoder's output (the "vanilla masked transformer" of the paper's §3).
        public var skipMix: Bool = true
        /// Normalise targets per patch of the budget's size (Eq. 8); MAE's `norm_pix_loss`.
        /// false: raw pixels, the target of the paper's tokenisation study (§3.1, the T1 arms).
        public var normPixLoss: Bool = true
        public init() {}
    }

    public let methodName: String
    public let config: Config
    public let encoder: VisionTransformer
    /// The budget's patch size: norm-pix targets are normalised over patches of this size even
    /// when the tokens are smaller (the pixel-token arm), so every arm predicts the same values.
    public let targetPatch: Int
    /// [L_dec, L_enc] logits of the skip mix, zero at init (a uniform mix); nil without it.
    public let skipLogits: Tensor?
    /// LN_1 … LN_{L−1} of the skip mix (Eq. 4), one per encoder block but the last, whose output
    /// goes through the encoder's own final norm (what the vanilla decoder and the probes read).
    /// RandSAC's, trained and checkpointed with it but not exported; empty without the skip mix.
    public let skipNorms: [LayerNorm]
    public let decoderEmbed: Linear
    /// [1, N, D_dec]; fixed, not a parameter: the decoder's only input (Eq. 5).
    public let queryPositions: Tensor
    public let decoderBlocks: [DecoderBlock]
    public let decoderNorm: LayerNorm
    public let decoderPrediction: Linear

    /// The encoder uses the fixed sin-cos position embedding and no CLS token: RandSAC's loss
    /// would never train one, and a block-causal sequence has no rank for it.
    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), targetPatch: Int, methodName: String = "randsac",
                dtype: DType = .float32, rng: inout RandomStream) {
        precondition(encoderConfig.positionEmbedding == .sinCos && !encoderConfig.clsToken && encoderConfig.hasFinalNorm,
                     "RandSAC's encoder uses the fixed sin-cos position embedding, no CLS token and its final norm")
        precondition(targetPatch % encoderConfig.patchSize == 0 && encoderConfig.imageSize % targetPatch == 0,
                     "target patch \(targetPatch) must be a multiple of the token patch \(encoderConfig.patchSize)")
        if let problem = config.serialization.problem(grid: encoderConfig.grid) { preconditionFailure("RandSAC: \(problem)") }
        self.methodName = methodName
        self.config = config
        self.targetPatch = targetPatch
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        let c = encoderConfig, dd = config.decoderDimension
        skipLogits = config.skipMix
            ? Tensor.zeros([config.decoderDepth, c.depth], dtype: dtype, requiresGrad: true) : nil
        // Ones and zeros: no draw, so every other tensor starts as it did before they existed.
        skipNorms = config.skipMix ? (1..<c.depth).map { _ in LayerNorm(c.dimension, eps: c.layerNormEps, dtype: dtype) } : []
        decoderEmbed = Linear(c.dimension, dd, dtype: dtype, rng: &rng)
        queryPositions = SinCosPositionEmbedding.tensor(dimension: dd, grid: c.grid, clsToken: false, dtype: dtype)
        decoderBlocks = (0..<config.decoderDepth).map { _ in
            DecoderBlock(dd, heads: config.decoderHeads, eps: c.layerNormEps, dtype: dtype, rng: &rng)
        }
        decoderNorm = LayerNorm(dd, eps: c.layerNormEps, dtype: dtype)
        decoderPrediction = Linear(dd, c.patchSize * c.patchSize * c.channels, dtype: dtype, rng: &rng)
    }

    public func loss(images: Tensor, rng: inout RandomStream) -> ObjectiveLoss {
        let g = encoder.config.grid
        let order = (0..<images.shape[0]).map { _ in config.serialization.sample(grid: g, rng: &rng) }  // Eq. (2)
        return loss(images: images, serializations: order)
    }

    /// The loss for given serializations (tests pass fixed ones). images [B, C, H, W].
    public func loss(images: Tensor, serializations: [Serialization]) -> ObjectiveLoss {
        let masks = SerializationMasks(serializations, dtype: images.dtype)
        let prediction = predict(images: images, masks: masks)
        let l = PixelTargets.maskedLoss(prediction: prediction, target: targets(images), removed: masks.predicted)  // Eq. (8)
        return ObjectiveLoss(loss: l, terms: [("mse_predicted", l.item)])
    }

    /// Per-token targets [B, N, p²·C], p the token patch: MAE's norm-pix values over patches of
    /// `targetPatch`, cut again into tokens when the tokens are smaller.
    public func targets(_ images: Tensor) -> Tensor {
        let t = PixelTargets.normalizedPatches(images, patch: targetPatch, normalize: config.normPixLoss)
        let p = encoder.config.patchSize
        guard p != targetPatch else { return t }
        let (b, c, side, g) = (images.shape[0], images.shape[1], images.shape[2], images.shape[2] / targetPatch)
        let pixels = t.reshaped([b, g, g, targetPatch, targetPatch, c]).permuted([0, 5, 1, 3, 2, 4])
            .reshaped([b, c, side, side])
        return Patchify.patches(pixels, patch: p, order: .channelsLast)
    }

    /// Predictions [B, N, p²·C] for every token in raster order (rows of the first segment
    /// are computed but carry no loss).
    public func predict(images: Tensor, masks: SerializationMasks) -> Tensor {
        let b = images.shape[0], n = encoder.config.patchCount
        let memories = memory(encode(images: images, masks: masks)).map(decoderEmbed.callAsFunction)     // Eq. (4)
        var y = queryPositions + Tensor.zeros([b, n, config.decoderDimension], dtype: images.dtype)      // Eq. (5)
        for (block, z) in zip(decoderBlocks, memories) {
            y = block(y, memory: z, selfMask: masks.decoder, memoryMask: masks.memory)                    // Eq. (6)
        }
        return decoderPrediction(decoderNorm(y))                                                          // Eq. (7)
    }

    /// The output of every encoder block H¹ … H^L, [B, N, D] each, as it leaves the block (not
    /// normalised), under the block-causal encoder mask (Eq. 1, 3).
    public func encode(images: Tensor, masks: SerializationMasks) -> [Tensor] {
        var none: RandomStream? = nil
        return encoder.encode(encoder.embed(images), mask: masks.encoder, dropPathRNG: &none, keepingLast: encoder.config.depth,
                              normalized: false)
    }

    /// One memory per decoder layer from the outputs of every encoder block [B, N, D]: the skip
    /// mix of LN_k(H^k) (Eq. 4) or, without it, the encoder's output norm(H^L) for every layer.
    /// The encoder's norm sees the last block only, with the mix or without it.
    func memory(_ hidden: [Tensor]) -> [Tensor] {
        let output = encoder.norm(hidden[hidden.count - 1])
        guard let skipLogits else { return [Tensor](repeating: output, count: config.decoderDepth) }
        let normalized = zip(skipNorms, hidden).map { norm, h in norm(h) } + [output]
        let shape = output.shape, size = output.count
        let stacked = Tensor.concat(normalized.map { $0.reshaped([1, size]) }, axis: 0)  // [L_enc, B·N·D]
        let mixed = Tensor.matmul(skipLogits.softmax(), stacked)                          // [L_dec, B·N·D]
        return (0..<config.decoderDepth).map { mixed.slice(axis: 0, $0..<($0 + 1)).reshaped(shape) }
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    public func namedParameters() -> [(String, Tensor)] {
        var p = encoder.namedParameters()
        if let skipLogits { p.append((Self.skipMixKey, skipLogits)) }
        for (k, norm) in skipNorms.enumerated() { p += norm.namedParameters(prefix: "skip_norms.\(k)") }
        p += decoderEmbed.namedParameters(prefix: "decoder_embed")
        for (i, block) in decoderBlocks.enumerated() { p += block.namedParameters(prefix: "decoder_blocks.\(i)") }
        p += decoderNorm.namedParameters(prefix: "decoder_norm")
        p += decoderPrediction.namedParameters(prefix: "decoder_pred")
        return p
    }

    static let skipMixKey = "skip_mix"

    /// The budget's groups (weight decay on rank ≥ 2) but for `skip_mix`, which joins the
    /// undecayed tensors: its logits parameterise a softmax over the encoder layers, not a weight,
    /// and decay would pull every decoder layer's mix towards the uniform one.
    public func parameterGroups(_ plan: OptimizerPlan) -> [ParameterGroup] {
        var groups = plan.decayGroups(namedParameters())
        guard skipLogits != nil else { return groups }
        precondition(groups.map(\.name) == ["decay", "no_decay"], "decayGroups' groups changed: \(groups.map(\.name))")
        groups[0].keys.removeAll { $0 == Self.skipMixKey }
        groups[1].keys = namedParameters().map(\.0).filter { !groups[0].keys.contains($0) }
        return groups
    }

    /// Encoder on all N tokens (masking does not shorten the sequence); per decoder layer the
    /// memory projection, self-attention, cross-attention on N × N and the MLP; ×3 for backward.
    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config, n = c.patchCount, dd = config.decoderDimension, h = config.decoderHeads
        let enc = FlopCount.encoder(c, patches: n, tokens: n)
        let cross = 4 * FlopCount.matmul(n, dd, dd) + Double(h) * 2 * FlopCount.matmul(n, n, dd / h)
        let dec = Double(config.decoderDepth) * (FlopCount.matmul(n, dd, c.dimension)
            + FlopCount.block(tokens: n, width: dd, heads: h) + cross)
            + FlopCount.matmul(n, c.patchSize * c.patchSize * c.channels, dd)
        return (3 * enc, 3 * (enc + dec))
    }
}
