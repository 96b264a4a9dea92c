import Foundation
import Metrics
import TensorCore

/// Shapes of a set of frozen patch-token grids: tokens [count, gridHeight, gridWidth, dimension].
public struct TokenGridShape: Sendable, Equatable {
    public var count: Int, gridHeight: Int, gridWidth: Int, dimension: Int
    public init(count: Int, gridHeight: Int, gridWidth: Int, dimension: Int) {
        self.count = count
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.dimension = dimension
    }
    public var tokensPerImage: Int { gridHeight * gridWidth }
    public var valueCount: Int { count * gridHeight * gridWidth * dimension }

    func check(_ tokens: [Float], name: String) throws {
        guard count > 0, gridHeight > 0, gridWidth > 0, dimension > 0 else {
            throw EvaluationError.invalidInput("\(name): token shape \(self) has a zero dimension")
        }
        try InputChecks.features(tokens, rows: count * tokensPerImage, dimension: dimension, name: name)
    }
}

/// Segmentation probe on frozen patch tokens: per-channel standardisation fitted on the
/// training tokens and frozen, a classifier per token (linear, or the MLP of TokenHead with
/// `configuration.head`), logits upsampled bilinearly to
/// the mask resolution, softmax cross-entropy per pixel ignoring 255 (SegmentationHeadLoss),
/// AdamW with cosine decay, the linear head initialised to zero, image order shuffled per epoch by the
/// given stream. Evaluated with mmseg's mIoU/aAcc (Metrics.SegmentationMetrics).
public enum SegmentationProbe {
    public struct Configuration: Sendable, Equatable {
        public var epochs = 20
        public var batchSize = 16
        public var learningRate: Float = 1e-2
        public var weightDecay: Float = 1e-4
        public var ignoreIndex: UInt8 = 255
        /// `--head`: linear (default) or the two-layer MLP (TokenHead).
        public var head = TokenHead.linear

        public init() {}

        public var protocolSettings: [String: ProtocolValue] {
            var settings: [String: ProtocolValue] = [
                "head": .string("per-token linear on standardised tokens, bilinear upsampling (align_corners=False)"),
                "loss": .string("pixel softmax cross-entropy, ignore_index 255, mean over labelled pixels"),
                "optimizer": .string("AdamW, cosine decay, zero init"),
                "epochs": .integer(epochs), "batch_size": .integer(batchSize),
                "learning_rate": .number(Double(learningRate)), "weight_decay": .number(Double(weightDecay)),
                "ignore_index": .integer(Int(ignoreIndex))]
            if case .mlp(let hidden) = head {
                settings["head"] = .string("per-token MLP on standardised tokens (1x1 conv to \(hidden) channels, ReLU, 1x1 conv to the classes; SETR-Naive without BatchNorm), bilinear upsampling (align_corners=False)")
                settings["hidden_channels"] = .integer(hidden)
                settings["optimizer"] = .string("AdamW, cosine decay; W1 ~ U(-1/sqrt(D), 1/sqrt(D)) from the evaluation stream before the shuffling, b1, W2, b2 zero")
            }
            return settings
        }
    }

    public struct Model: Sendable, Equatable {
        public let standardizer: FeatureStandardizer
        public let head: TokenHead
        /// The head's parameter groups (linear: W [D, K], b [K]; see TokenHead).
        public let parameters: [[Float]]
        public let classes: Int

        /// Per-pixel class (argmax of the upsampled logits, lowest class on ties): [count, H, W].
        public func predict(tokens: [Float], shape: TokenGridShape, maskHeight: Int, maskWidth: Int) throws -> [UInt8] {
            try shape.check(tokens, name: "segmentation tokens")
            let loss = SegmentationHeadLoss<Float>(gridHeight: shape.gridHeight, gridWidth: shape.gridWidth,
                                                   dimension: shape.dimension, maskHeight: maskHeight,
                                                   maskWidth: maskWidth, classes: classes)
            let pixels = maskHeight * maskWidth
            var result = [UInt8](repeating: 0, count: shape.count * pixels)
            let chunk = 64
            for start in stride(from: 0, to: shape.count, by: chunk) {
                let count = min(chunk, shape.count - start)
                let values = Array(tokens[(start * shape.tokensPerImage * shape.dimension)..<((start + count)
                    * shape.tokensPerImage * shape.dimension)])
                let logits = loss.logits(tokens: standardizer.applyFloat(values), count: count, head: head,
                                         parameters: parameters)
                for p in 0..<(count * pixels) {
                    var best = 0
                    for c in 1..<classes where logits[p * classes + c] > logits[p * classes + best] { best = c }
                    result[start * pixels + p] = UInt8(best)
                }
            }
            return result
        }

        /// mIoU / aAcc accumulated over the images (masks [count, H, W], 255 ignored).
        public func evaluate(tokens: [Float], shape: TokenGridShape, masks: [UInt8], maskHeight: Int,
                             maskWidth: Int) throws -> SegmentationMetrics {
            let pixels = maskHeight * maskWidth
            guard masks.count == shape.count * pixels else {
                throw EvaluationError.invalidInput("segmentation masks: \(masks.count) values, expected [\(shape.count), \(maskHeight), \(maskWidth)]")
            }
            let predicted = try predict(tokens: tokens, shape: shape, maskHeight: maskHeight, maskWidth: maskWidth)
            var metrics = SegmentationMetrics(classes: classes)
            for i in 0..<shape.count {
                try metrics.add(prediction: Array(predicted[i * pixels..<(i + 1) * pixels]),
                                label: Array(masks[i * pixels..<(i + 1) * pixels]), name: "image \(i)")
            }
            return metrics
        }
    }

    /// Trains the head. tokens: [count, gh, gw, D]; masks: [count, H, W] with labels in
    /// 0..<classes or the ignore index.
    public static func fit(tokens: [Float], shape: TokenGridShape, masks: [UInt8], maskHeight: Int, maskWidth: Int,
                           classes: Int, configuration: Configuration = Configuration(),
                           rng: inout RandomStream) throws -> Model {
        try shape.check(tokens, name: "segmentation train tokens")
        let pixels = maskHeight * maskWidth
        guard maskHeight > 0, maskWidth > 0, masks.count == shape.count * pixels else {
            throw EvaluationError.invalidInput("segmentation train masks: \(masks.count) values, expected [\(shape.count), \(maskHeight), \(maskWidth)]")
        }
        guard classes >= 2, classes < Int(configuration.ignoreIndex) else {
            throw EvaluationError.invalidInput("segmentation: classes must be in 2..<\(configuration.ignoreIndex), got \(classes)")
        }
        if let bad = masks.firstIndex(where: { $0 != configuration.ignoreIndex && Int($0) >= classes }) {
            throw EvaluationError.invalidInput("segmentation train masks: label \(masks[bad]) in image \(bad / pixels) outside 0..<\(classes)")
        }
        let d = shape.dimension
        let standardizer = FeatureStandardizer(fitting: tokens, dimension: d)
        let standardized = standardizer.applyFloat(tokens)
        let loss = SegmentationHeadLoss<Float>(gridHeight: shape.gridHeight, gridWidth: shape.gridWidth, dimension: d,
                                               maskHeight: maskHeight, maskWidth: maskWidth, classes: classes,
                                               ignoreIndex: configuration.ignoreIndex)
        let tokenValues = shape.tokensPerImage * d
        let settings = DenseHeadTraining.Settings(epochs: configuration.epochs, batchSize: configuration.batchSize,
                                                  learningRate: configuration.learningRate,
                                                  weightDecay: configuration.weightDecay)
        let head = configuration.head
        let initial = head.initialParameters(dimension: d, outputs: classes, rng: &rng)
        let parameters = try DenseHeadTraining.train(images: shape.count, initial: initial, decays: head.decays,
                                                     settings: settings, name: "segmentation head", rng: &rng) {
            members, parameters, gradients in
            var batchTokens: [Float] = []
            var batchMasks: [UInt8] = []
            batchTokens.reserveCapacity(members.count * tokenValues)
            batchMasks.reserveCapacity(members.count * pixels)
            for i in members {
                batchTokens += standardized[(i * tokenValues)..<((i + 1) * tokenValues)]
                batchMasks += masks[(i * pixels)..<((i + 1) * pixels)]
            }
            return loss.lossAndGradient(tokens: batchTokens, masks: batchMasks, count: members.count, head: head,
                                        parameters: parameters, gradients: &gradients)
        }
        return Model(standardizer: standardizer, head: head, parameters: parameters, classes: classes)
    }
}
