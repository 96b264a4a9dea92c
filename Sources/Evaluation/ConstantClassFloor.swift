import Datasets
import Foundation
import Metrics
import TensorCore

/// The "no features" floor (`eval <probe> --constant-class`): predictions from the training
/// split's label statistics alone, the same for every test image.
///
/// - linear, knn: every image gets the most frequent training label (lower class on ties).
/// - seg: every pixel gets the most frequent class among the labelled training pixels (the
///   lower class on ties); scored with `SegmentationMetrics` like the head.
/// - det: every test image gets one box per class that has non-crowd training objects: the
///   class's mean training box (x, y, w, h averaged in Double), scored by the class's share of
///   those objects. A detector that knows only where objects of each class tend to be and how
///   common each class is; COCO AP ranks these like any detections.
public enum ConstantClassFloor {
    public static let method = "constant-class"

    /// The most frequent label of masks [N, H, W] (ignoring `ignoreIndex`), lower class on ties.
    public static func majorityClass(masks: [UInt8], classes: Int, ignoreIndex: UInt8 = 255) throws -> Int {
        try majority(masks.lazy.filter { $0 != ignoreIndex }, classes: classes, what: "mask label",
                     none: "the training masks have no labelled pixel")
    }

    /// The most frequent of image labels, lower class on ties.
    public static func majorityClass(labels: [Int32], classes: Int) throws -> Int {
        try majority(labels, classes: classes, what: "label", none: "the training split has no labels")
    }

    /// The most frequent value in 0..<classes, lower on ties; errors name `what` or say `none`.
    static func majority<Labels: Sequence>(_ labels: Labels, classes: Int, what: String, none: String) throws -> Int
    where Labels.Element: BinaryInteger {
        var counts = [Int](repeating: 0, count: classes)
        for label in labels {
            guard label >= 0, Int(label) < classes else {
                throw EvaluationError.invalidInput("constant-class floor: \(what) \(label) outside 0..<\(classes)")
            }
            counts[Int(label)] += 1
        }
        guard let best = counts.indices.max(by: { counts[$0] < counts[$1] || (counts[$0] == counts[$1] && $0 > $1) }),
              counts[best] > 0 else {
            throw EvaluationError.invalidInput("constant-class floor: \(none)")
        }
        return best
    }

    /// Per class: the mean box and share of the non-crowd training objects (nil: no object).
    public static func classPriors(objects: [[DetectionObject]], classes: Int) -> [(box: [Double], share: Double)?] {
        var sums = [[Double]](repeating: [0, 0, 0, 0], count: classes)
        var counts = [Int](repeating: 0, count: classes)
        for list in objects {
            for object in list where !object.isCrowd {
                counts[object.classIndex] += 1
                for j in 0..<4 { sums[object.classIndex][j] += object.box[j] }
            }
        }
        let total = counts.reduce(0, +)
        return (0..<classes).map { c in
            counts[c] == 0 ? nil : (sums[c].map { $0 / Double(counts[c]) }, Double(counts[c]) / Double(total))
        }
    }

    /// The same detections on every image: category id = class + 1, image ids 1...count.
    public static func detections(priors: [(box: [Double], share: Double)?], imageCount: Int) -> [COCODetection] {
        (0..<imageCount).flatMap { image in
            priors.enumerated().compactMap { c, prior in
                prior.map { COCODetection(imageID: image + 1, categoryID: c + 1, box: $0.box, score: $0.share) }
            }
        }
    }
}

extension EvalProtocol {
    /// `eval <probe> --constant-class`: the floor above on the probe's pack, written as a normal
    /// metrics record whose encoder method and `encoder_source` are `constant-class` (no
    /// encoder, config_hash `none`), so tables can show it as a reference row.
    public static func runConstantClass(_ options: EvalOptions,
                                        clock: () -> Double = { ProcessInfo.processInfo.systemUptime }) throws -> EvalOutcome {
        let start = clock()
        let (pack, trainName, testName, train, test) = try options.input.openSplits()
        let classes = pack.numClasses
        var settings: [String: ProtocolValue] = [
            "feature_kind": .string("none"),
            "pooling": .string("none"),
            "readout_source": .string(ConstantClassFloor.method),
            "encoder_source": .string(ConstantClassFloor.method),
            "encoder_digest": .string("none"),
            "augmentation": .string("none"),
            "seed": .integer(Int(options.input.seed)),
            "train_split": .string(trainName), "test_split": .string(testName),
            "train_count": .integer(train.count), "test_count": .integer(test.count),
            "subset": .string(options.input.subsetText),
            "image_size": .list([.integer(train.height), .integer(train.width)]),
            "classes": .integer(classes),
        ]
        var metrics: [String: Double]
        switch options.probe {
        case .seg, .patchKnn:
            guard let trainMasks = train.masks, let testMasks = test.masks else {
                throw EvaluationError.invalidInput("\(options.input.dataPath): the seg probe needs masks in splits '\(trainName)' and '\(testName)'")
            }
            let constant = try ConstantClassFloor.majorityClass(masks: trainMasks, classes: classes,
                                                                ignoreIndex: options.segmentation.ignoreIndex)
            var scores = SegmentationMetrics(classes: classes, ignoreIndex: Int(options.segmentation.ignoreIndex))
            let pixels = test.height * test.width
            let prediction = [UInt8](repeating: UInt8(constant), count: pixels)
            for i in 0..<test.count {
                try scores.add(prediction: prediction, label: Array(testMasks[(i * pixels)..<((i + 1) * pixels)]), name: "image \(i)")
            }
            metrics = scores.record
            settings["predictor"] = .string("every pixel: the most frequent class of the labelled training pixels")
            settings["constant_class"] = .integer(constant)
            settings["constant_class_name"] = .string(pack.classNames[constant])
        case .det:
            guard let trainBoxes = train.boxes, let testBoxes = test.boxes else {
                throw EvaluationError.invalidInput("\(options.input.dataPath): the det probe needs boxes in splits '\(trainName)' and '\(testName)'")
            }
            let priors = ConstantClassFloor.classPriors(objects: objects(trainBoxes, count: train.count), classes: classes)
            let scored = try scoreDetections(ConstantClassFloor.detections(priors: priors, imageCount: test.count),
                                             test: test, testBoxes: testBoxes, classes: classes, pack: pack, options: options)
            metrics = scored.metrics
            settings["predictor"] = .string("every image: per class with training objects, its mean non-crowd training box scored by the class's share of them")
            settings["class_priors"] = .list(priors.map { prior in
                prior.map { .object(["box": .list($0.box.map { .number($0) }), "share": .number($0.share)]) } ?? .string("none")
            })
            settings["area_bins"] = scored.areaBins
            settings["agnostic"] = .string(DetectionReport.classAgnosticRule)
        case .linear, .knn:
            guard let trainLabels = train.labels, let testLabels = test.labels else {
                throw EvaluationError.invalidInput("\(options.input.dataPath): the \(options.probe.rawValue) probe needs labels in splits '\(trainName)' and '\(testName)'")
            }
            let constant = try ConstantClassFloor.majorityClass(labels: trainLabels, classes: classes)
            let top1 = 100 * Double(testLabels.filter { Int($0) == constant }.count) / Double(max(testLabels.count, 1))
            metrics = options.probe == .linear
                ? [LinearProbe.MetricKey.top1: top1]
                : Dictionary(uniqueKeysWithValues: options.knnSettings.map { ($0.metricName, top1) })
            settings["predictor"] = .string("every image: the most frequent training label")
            settings["constant_class"] = .integer(constant)
            settings["constant_class_name"] = .string(pack.classNames[constant])
        }
        let record = MetricsRecord(
            probe: options.probe.rawValue,
            dataset: .init(name: datasetName(options.input.dataPath), digest: pack.storedDigest),
            encoder: .init(method: options.input.encoderDescription.method ?? ConstantClassFloor.method,
                           budget: options.input.encoderDescription.budget ?? "none", seed: options.input.encoderDescription.seed ?? 0,
                           configHash: options.input.encoderDescription.configHash ?? "none"),
            settings: settings, metrics: metrics, wallSeconds: clock() - start, threads: BLAS.threads)
        return EvalOutcome(record: record, featureSeconds: 0, probeSeconds: clock() - start, cacheReused: [:])
    }
}
