// The supervised reference row: the budget's ViT trained with the pretraining split's labels,
// under the same budget (steps, batch, optimizer, schedule, view recipe) as every method, so a
// table shows how far above the random-init floor a label-trained encoder of this size gets.
// Not a paper's method and not a claim: the upper end of the usable range
// (Documentation/evaluation.md, "Reference rows").
//
// Equations, in the order a step realises them:
//   (1) z = LN(ViT([cls ; PatchEmbed(x) + E_pos]))[cls]   MAE's encoder variant (fixed sin-cos PE)
//   (2) ŷ = W z + b                                        one linear head (timm's ViT `head`)
//   (3) L = mean_i −log softmax(ŷ_i)[y_i]                  cross-entropy with the labels
import Layers
import TensorCore

public final class Supervised: Objective, Module {
    public struct Config: Codable, Equatable, Sendable {
        /// Classes of the pretraining split's labels (Fashion-MNIST: 10); every label must be below it.
        public var classes: Int = 10
        public init() {}
    }

    public let methodName = "supervised"
    public let config: Config
    public let encoder: VisionTransformer
    public let head: Linear

    public init(encoder encoderConfig: ViTConfig, config: Config = Config(), dtype: DType = .float32,
                rng: inout RandomStream) {
        precondition(encoderConfig.clsToken, "the supervised reference reads its encoder's CLS token")
        precondition(config.classes >= 2, "supervised: classes must be at least 2, got \(config.classes)")
        self.config = config
        encoder = VisionTransformer(encoderConfig, dtype: dtype, rng: &rng)
        head = Linear(encoderConfig.dimension, config.classes, dtype: dtype, rng: &rng)
    }

    public var requiredClasses: Int? { config.classes }

    /// Logits [B, classes] of images [B, C, H, W].
    public func logits(_ images: Tensor) -> Tensor {
        let tokens = encoder(images)                                                  // Eq. (1)
        let cls = tokens.slice(axis: 1, 0..<1).reshaped([images.shape[0], encoder.config.dimension])
        return head(cls)                                                              // Eq. (2)
    }

    public func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                     rng: inout RandomStream) -> ObjectiveStep {
        precondition(batch.labels.count == batch.count, "supervised: the batch carries \(batch.labels.count) labels for \(batch.count) images")
        let l = logits(batch.views[0].images).crossEntropy(labels: batch.labels)      // Eq. (3)
        return ObjectiveStep(loss: l, terms: [("cross_entropy", l.item)], nextState: { state })
    }

    public func encoderExtras() -> [(String, Tensor)] { [] }

    public func namedParameters() -> [(String, Tensor)] {
        encoder.namedParameters() + head.namedParameters(prefix: "head")
    }

    /// The encoder on all N + 1 tokens and the head; ×3 for the backward pass.
    public var flopsPerImage: (encoder: Double, total: Double) {
        let c = encoder.config
        let enc = FlopCount.encoder(c, patches: c.patchCount, tokens: c.patchCount + 1)
        return (3 * enc, 3 * (enc + FlopCount.matmul(1, config.classes, c.dimension)))
    }
}
