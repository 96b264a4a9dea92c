import Layers
import Objectives
import TensorCore

/// The classifier that fine-tuning trains end to end, MAE's `models_vit.VisionTransformer`: the
/// pretrained encoder's patch embedding and blocks (with drop path), then either the global pool
/// (mean of the patch tokens → a fresh `fc_norm` LayerNorm; the pretrained final `norm` is
/// dropped, as `del self.norm` does) or the CLS token through the final norm, then a linear head
/// (weight N(0, 2e-5²) truncated, bias 0: `trunc_normal_(model.head.weight, std=2e-5)`).
///
/// Parameter names are timm's (`cls_token`, `pos_embed`, `patch_embed.proj.*`, `blocks.<i>.*`,
/// `fc_norm.*`, `head.*`), so MAE's layer-wise decay rule (`Optim.LayerDecay`) applies to them
/// unchanged. A fixed sin-cos position table becomes a trainable `pos_embed` initialised from
/// it, because MAE's fine-tuning ViT (timm's) holds `pos_embed` as a parameter and loads the
/// checkpoint's sin-cos values into it. LoMaR's relative-position tables
/// (`blocks.<i>.attn.rpe_k.lookup_table_weight`) are trained with the block they belong to.
public final class FineTuneModel: Module {
    public enum Pooling: String, CaseIterable, Sendable {
        /// MAE's default (`global_pool=True`): mean of the patch tokens, then `fc_norm`.
        case mean
        /// `--cls_token`: the CLS token of the final-normalised output.
        case cls
    }

    public let encoder: VisionTransformer
    public let relativeBias: RelativePositionBias?
    public let pooling: Pooling
    public let fcNorm: LayerNorm?
    public let head: Linear

    /// `pretrained` is copied (never modified); `dropPath` is the stochastic-depth rate of the last
    /// block (timm's linear rule across blocks). The head is drawn from `rng`.
    public init(pretrained: VisionTransformer, relativeBias pretrainedBias: RelativePositionBias?, classes: Int,
                dropPath: Double, pooling: Pooling, rng: inout RandomStream) throws {
        precondition(classes >= 2 && dropPath >= 0 && dropPath < 1, "fine-tuning needs ≥ 2 classes and drop path in [0, 1)")
        var config = pretrained.config
        config.dropPath = dropPath
        var values = Dictionary(uniqueKeysWithValues: pretrained.namedParameters())
        if config.positionEmbedding == .sinCos, let table = pretrained.positionEmbedding {
            config.positionEmbedding = .learned
            values["pos_embed"] = table
        }
        var unused = RandomStream(seed: 0)
        encoder = VisionTransformer(config, rng: &unused)
        try encoder.load(values)
        if let pretrainedBias {
            let bias = RelativePositionBias(kind: pretrainedBias.kind, bucketing: pretrainedBias.bucketing, encoder: config)
            try bias.load(Dictionary(uniqueKeysWithValues: pretrainedBias.namedParameters()))
            relativeBias = bias
        } else {
            relativeBias = nil
        }
        // Encoders without CLS (SelfPatch's) can only pool.
        self.pooling = config.clsToken ? pooling : .mean
        fcNorm = self.pooling == .mean ? LayerNorm(config.dimension, eps: config.layerNormEps) : nil
        head = Linear(weight: Initializer.truncatedNormal([classes, config.dimension], std: 2e-5, dtype: .float32, rng: &rng),
                      bias: Initializer.constant(0, [classes], dtype: .float32))
    }

    public var classes: Int { head.weight.shape[0] }

    /// images [B, C, H, W] → logits [B, classes]. `dropPathRNG` nil is evaluation mode (no drop path).
    public func callAsFunction(_ images: Tensor, dropPathRNG: inout RandomStream?) -> Tensor {
        let b = images.shape[0]
        var x = encoder.prependCls(encoder.embed(images))
        let blockBias = relativeBias?.blockBias(grid: images.shape[2] / encoder.config.patchSize)
        for (index, block) in encoder.blocks.enumerated() {
            if let blockBias {
                x = block(x, biasFromQKV: { blockBias(index, $0) }, dropPathRNG: &dropPathRNG)
            } else {
                x = block(x, dropPathRNG: &dropPathRNG)
            }
        }
        let pooled: Tensor
        switch pooling {
        case .mean:
            let first = encoder.config.clsToken ? 1 : 0
            pooled = fcNorm!(x.slice(axis: 1, first..<x.shape[1]).mean(axes: [1]))
        case .cls:
            pooled = encoder.norm(x).slice(axis: 1, 0..<1).reshaped([b, encoder.config.dimension])
        }
        return head(pooled)
    }

    /// The encoder's parameters (without the final norm under the global pool), the
    /// relative-position tables, `fc_norm`, `head`.
    public func namedParameters() -> [(String, Tensor)] {
        var p = encoder.namedParameters()
        if pooling == .mean { p.removeAll { $0.0.hasPrefix("norm.") } }
        p += relativeBias?.namedParameters() ?? []
        p += fcNorm?.namedParameters(prefix: "fc_norm") ?? []
        return p + head.namedParameters(prefix: "head")
    }
}
