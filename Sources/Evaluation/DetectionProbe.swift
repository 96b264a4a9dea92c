import Foundation
import Metrics
import TensorCore

/// A small anchor-free box head on frozen patch-token grids (CenterNet/FCOS-like):
/// standardised tokens → one dense layer (or the two-layer MLP of TokenHead with
/// `configuration.head`) → per-token class logits (with background) and a box
/// (centre offset in the token, log size in strides). Targets: DetectionTargets. Loss:
/// DetectionHeadLoss. AdamW with cosine decay, the linear head initialised to zero, image order
/// shuffled per epoch by the given stream. Inference: per token and class, score = softmax probability; boxes above
/// `scoreThreshold` are decoded, clipped to the image, reduced by per-class greedy NMS, and the
/// best `maxDetections` per image are kept. The default threshold is 0 (CenterNet's top-K
/// decoding): with ~2 object tokens among 256 per image, a frozen-feature head rarely gives a
/// foreground class 5% probability, and a 0.05 cut (Detectron's default) left no boxes at all
/// for weak encoders, so every method scored AP 0; COCO AP only needs the ranking. Evaluated
/// with COCO box AP (Metrics.COCOEvaluator).
public enum DetectionProbe {
    public struct Configuration: Sendable, Equatable {
        public var epochs = 30
        public var batchSize = 16
        public var learningRate: Float = 1e-2
        public var weightDecay: Float = 1e-4
        /// λ, weight of the box regression term.
        public var regressionWeight: Float = 1
        /// Positives: tokens inside the box within this many strides of its centre, plus the
        /// centre token (FCOS centre sampling; 0 = the centre token only). See DetectionTargets.
        public var centerRadius = 1.5
        public var scoreThreshold = 0.0
        public var nmsThreshold = 0.5
        public var maxDetections = 100
        /// `--head`: linear (default) or the two-layer MLP (TokenHead).
        public var head = TokenHead.linear

        public init() {}

        public var protocolSettings: [String: ProtocolValue] {
            var settings: [String: ProtocolValue] = [
                "head": .string("linear per token: K+1 logits + (dx, dy, log w, log h); positives: the centre token and the tokens inside the box within center_radius strides of its centre"),
                "loss": .string("token softmax CE (crowd-covered negatives ignored) + lambda * 0.5 L2 on positives"),
                "optimizer": .string("AdamW, cosine decay, zero init"),
                "epochs": .integer(epochs), "batch_size": .integer(batchSize),
                "learning_rate": .number(Double(learningRate)), "weight_decay": .number(Double(weightDecay)),
                "regression_weight": .number(Double(regressionWeight)), "center_radius": .number(centerRadius), "score_threshold": .number(scoreThreshold),
                "nms_iou": .number(nmsThreshold), "max_detections": .integer(maxDetections)]
            if case .mlp(let hidden) = head {
                settings["head"] = .string("MLP per token (1x1 conv to \(hidden) channels, ReLU, 1x1 conv): K+1 logits + (dx, dy, log w, log h); positives: the centre token and the tokens inside the box within center_radius strides of its centre")
                settings["hidden_channels"] = .integer(hidden)
                settings["optimizer"] = .string("AdamW, cosine decay; W1 ~ U(-1/sqrt(D), 1/sqrt(D)) from the evaluation stream before the shuffling, b1, W2, b2 zero")
            }
            return settings
        }
    }

    public struct Model: Sendable, Equatable {
        public let standardizer: FeatureStandardizer
        /// The head's parameter groups (linear: W [D, K + 5], b [K + 5]; see TokenHead).
        public let parameters: [[Float]]
        public let classes: Int
        public let configuration: Configuration
        /// The head the parameters belong to (the configuration's).
        public var head: TokenHead { configuration.head }

        /// Detections for each image (imageIDs[i] for image i; category id = class index + 1).
        public func detect(tokens: [Float], shape: TokenGridShape, geometry: DetectionGeometry,
                           imageIDs: [Int]? = nil) throws -> [COCODetection] {
            try shape.check(tokens, name: "detection tokens")
            let ids = imageIDs ?? Array(1...shape.count)
            guard ids.count == shape.count else {
                throw EvaluationError.invalidInput("detection: \(ids.count) image ids for \(shape.count) images")
            }
            let width = classes + 5
            let perImage = shape.tokensPerImage
            let y = head.forward(standardizer.applyFloat(tokens), rows: shape.count * perImage,
                                 dimension: shape.dimension, parameters: parameters)
            let sx = geometry.strideX, sy = geometry.strideY
            var detections: [COCODetection] = []
            for image in 0..<shape.count {
                var candidates: [COCODetection] = []
                for c in 0..<classes {
                    var boxes: [[Double]] = []
                    var scores: [Double] = []
                    for t in 0..<perImage {
                        let row = (image * perImage + t) * width
                        var largest = y[row]
                        for j in 1...classes { largest = max(largest, y[row + j]) }
                        var sum = 0.0
                        for j in 0...classes { sum += Foundation.exp(Double(y[row + j] - largest)) }
                        let score = Foundation.exp(Double(y[row + c] - largest)) / sum
                        guard score >= configuration.scoreThreshold else { continue }
                        let gx = Double(t % shape.gridWidth), gy = Double(t / shape.gridWidth)
                        let cx = (gx + Double(y[row + classes + 1])) * sx
                        let cy = (gy + Double(y[row + classes + 2])) * sy
                        let w = sx * Foundation.exp(min(Double(y[row + classes + 3]), 10))
                        let h = sy * Foundation.exp(min(Double(y[row + classes + 4]), 10))
                        let x0 = max(0, cx - w / 2), y0 = max(0, cy - h / 2)
                        let x1 = min(geometry.imageWidth, cx + w / 2), y1 = min(geometry.imageHeight, cy + h / 2)
                        guard x1 > x0, y1 > y0 else { continue }
                        boxes.append([x0, y0, x1 - x0, y1 - y0])
                        scores.append(score)
                    }
                    for k in NonMaximumSuppression.keep(boxes: boxes, scores: scores, iouThreshold: configuration.nmsThreshold) {
                        candidates.append(COCODetection(imageID: ids[image], categoryID: c + 1, box: boxes[k], score: scores[k]))
                    }
                }
                let order = NumpyCompatibility.stableArgsortDescending(candidates.map(\.score))
                detections += order.prefix(configuration.maxDetections).map { candidates[$0] }
            }
            return detections
        }

        /// COCO evaluation of the detections against the objects (category id = class + 1,
        /// annotation area = box area).
        public func evaluate(tokens: [Float], shape: TokenGridShape, geometry: DetectionGeometry,
                             objects: [[DetectionObject]]) throws -> COCOEvaluation {
            guard objects.count == shape.count else {
                throw EvaluationError.invalidInput("detection: \(objects.count) object lists for \(shape.count) images")
            }
            let detections = try detect(tokens: tokens, shape: shape, geometry: geometry)
            return try COCOEvaluator.evaluate(groundTruth: DetectionProbe.groundTruth(objects: objects, classes: classes),
                                              detections: detections)
        }
    }

    /// COCO ground truth for per-image object lists: image ids 1..., category ids class + 1.
    public static func groundTruth(objects: [[DetectionObject]], classes: Int) -> COCOGroundTruth {
        var annotations: [COCOAnnotation] = []
        for (image, list) in objects.enumerated() {
            for object in list {
                annotations.append(COCOAnnotation(id: annotations.count + 1, imageID: image + 1,
                                                  categoryID: object.classIndex + 1, box: object.box,
                                                  area: object.box[2] * object.box[3], isCrowd: object.isCrowd))
            }
        }
        return COCOGroundTruth(imageIDs: Array(1...max(objects.count, 1)), categoryIDs: Array(1...classes),
                               annotations: annotations)
    }

    /// Trains the head. tokens: [count, gh, gw, D]; objects: one list per image.
    public static func fit(tokens: [Float], shape: TokenGridShape, geometry: DetectionGeometry,
                           objects: [[DetectionObject]], classes: Int, configuration: Configuration = Configuration(),
                           rng: inout RandomStream) throws -> Model {
        try shape.check(tokens, name: "detection train tokens")
        guard geometry.gridHeight == shape.gridHeight, geometry.gridWidth == shape.gridWidth else {
            throw EvaluationError.invalidInput("detection: geometry grid \(geometry.gridHeight)x\(geometry.gridWidth) differs from tokens \(shape.gridHeight)x\(shape.gridWidth)")
        }
        guard objects.count == shape.count else {
            throw EvaluationError.invalidInput("detection: \(objects.count) object lists for \(shape.count) images")
        }
        guard classes >= 1 else { throw EvaluationError.invalidInput("detection: classes must be positive") }
        for (image, list) in objects.enumerated() {
            if let bad = list.firstIndex(where: { $0.classIndex < 0 || $0.classIndex >= classes || !$0.box.allSatisfy(\.isFinite) }) {
                throw EvaluationError.invalidInput("detection: image \(image), object \(bad): class \(list[bad].classIndex) outside 0..<\(classes) or non-finite box")
            }
        }
        let d = shape.dimension
        let standardizer = FeatureStandardizer(fitting: tokens, dimension: d)
        let standardized = standardizer.applyFloat(tokens)
        let targets = objects.map { DetectionTargets(objects: $0, geometry: geometry, classCount: classes,
                                                      centerRadius: configuration.centerRadius) }
        let loss = DetectionHeadLoss<Float>(dimension: d, classes: classes, regressionWeight: configuration.regressionWeight)
        let tokenValues = shape.tokensPerImage * d
        let settings = DenseHeadTraining.Settings(epochs: configuration.epochs, batchSize: configuration.batchSize,
                                                  learningRate: configuration.learningRate,
                                                  weightDecay: configuration.weightDecay)
        let head = configuration.head
        let initial = head.initialParameters(dimension: d, outputs: loss.outputs, rng: &rng)
        let parameters = try DenseHeadTraining.train(images: shape.count, initial: initial, decays: head.decays,
                                                     settings: settings, name: "detection head", rng: &rng) {
            members, parameters, gradients in
            var batchTokens: [Float] = []
            var batchClasses: [Int] = []
            var batchCounted: [Bool] = []
            var batchRegression: [Double] = []
            for i in members {
                batchTokens += standardized[(i * tokenValues)..<((i + 1) * tokenValues)]
                batchClasses += targets[i].classes
                batchCounted += targets[i].counted
                batchRegression += targets[i].regression
            }
            return loss.lossAndGradient(tokens: batchTokens, targetClasses: batchClasses, counted: batchCounted,
                                        regression: batchRegression, head: head, parameters: parameters,
                                        gradients: &gradients)
        }
        return Model(standardizer: standardizer, parameters: parameters, classes: classes,
                     configuration: configuration)
    }
}
