import Layers
import TensorCore

/// A self-supervised pretraining objective over the budget's ViT encoder.
///
/// The harness owns data, optimizer, schedule, checkpoints and logs; an objective owns its
/// extra modules (decoder, heads, mask token) and turns a batch of augmented images into a
/// loss. All randomness an objective needs per step (masks, windows) comes from the stream
/// passed in, which the harness checkpoints, so a resumed run draws the same masks.
public protocol Objective: AnyObject {
    /// The method name used in run directories and result tables ("mae", "lomar").
    var methodName: String { get }
    /// The encoder being pretrained (what `encoder.h5` holds).
    var encoder: VisionTransformer { get }
    /// Every trainable tensor with a stable key, encoder first (optimizer and checkpoint order).
    func namedParameters() -> [(String, Tensor)]
    /// Trained encoder tensors that `VisionTransformer` does not hold but that evaluation needs
    /// (LoMaR's relative-position tables); saved into `encoder.h5` beside the ViT keys.
    func encoderExtras() -> [(String, Tensor)]
    /// One training loss on images [B, C, H, W]; `rng` is the run's mask stream.
    func loss(images: Tensor, rng: inout RandomStream) -> ObjectiveLoss
    /// FLOPs of one training step per image (forward + backward = 3 × forward, anchor_vit.py's
    /// rule): the encoder's share and the whole step.
    var flopsPerImage: (encoder: Double, total: Double) { get }
}

/// A loss with its named terms (logged per step; keys are snake_case).
public struct ObjectiveLoss {
    public var loss: Tensor
    public var terms: [(String, Double)]
    public init(loss: Tensor, terms: [(String, Double)]) {
        self.loss = loss
        self.terms = terms
    }
}

/// Analytic FLOP counts: 2·M·N·K per matrix product, as in anchor_vit.py's `flops_per_image`.
public enum FlopCount {
    public static func matmul(_ m: Int, _ n: Int, _ k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }

    /// One pre-norm transformer block on `tokens` tokens of width `d`, `heads` heads, MLP ratio 4.
    public static func block(tokens t: Int, width d: Int, heads h: Int, mlpRatio r: Double = 4) -> Double {
        let hd = d / h, hidden = Int(Double(d) * r)
        return matmul(t, 3 * d, d) + Double(h) * matmul(t, t, hd) + Double(h) * matmul(t, hd, t) + matmul(t, d, d)
            + matmul(t, hidden, d) + matmul(t, d, hidden)
    }

    /// The encoder's forward: patch embedding of `patches` patches, then `depth` blocks on `tokens`.
    public static func encoder(_ c: ViTConfig, patches: Int, tokens: Int) -> Double {
        matmul(patches, c.dimension, c.patchSize * c.patchSize * c.channels)
            + Double(c.depth) * block(tokens: tokens, width: c.dimension, heads: c.heads, mlpRatio: c.mlpRatio)
    }
}
