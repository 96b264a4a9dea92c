import Foundation
import Testing
import Metrics

/// COCO box AP against pycocotools on fixtures written by Scripts/reference/make_coco_fixtures.py.
struct COCOEvaluatorTests {
    @Test("12 summary numbers equal pycocotools' to 1e-6", arguments: ["mixed", "nolarge"])
    func matchesPycocotools(name: String) throws {
        let groundTruth = try COCOFileReader.readGroundTruth(path: Fixture.path("coco_\(name)_gt.json"))
        let detections = try COCOFileReader.readDetections(path: Fixture.path("coco_\(name)_dt.json"))
        let expected = try #require(Fixture.json("coco_\(name)_expected.json") as? [String: Any])
        let expectedStats = try #require(expected["stats"] as? [Double])
        let stats = try COCOEvaluator.evaluate(groundTruth: groundTruth, detections: detections).stats
        #expect(stats.count == 12)
        for (index, value) in stats.enumerated() {
            #expect(abs(value - expectedStats[index]) <= 1e-6,
                    "\(COCOEvaluation.statNames[index]): \(value) vs pycocotools \(expectedStats[index])")
        }
    }

    @Test("Printed summary equals pycocotools' text", arguments: ["mixed", "nolarge"])
    func summaryText(name: String) throws {
        let groundTruth = try COCOFileReader.readGroundTruth(path: Fixture.path("coco_\(name)_gt.json"))
        let detections = try COCOFileReader.readDetections(path: Fixture.path("coco_\(name)_dt.json"))
        let expected = try #require(Fixture.json("coco_\(name)_expected.json") as? [String: Any])
        let text = try #require(expected["summary"] as? String)
        let lines = try COCOEvaluator.evaluate(groundTruth: groundTruth, detections: detections).summaryLines
        #expect(lines.joined(separator: "\n") + "\n" == text)
    }

    /// PatchBench's two non-default settings, as the fixture script sets them on pycocotools'
    /// `COCOeval.params`: class-agnostic AP (`useCats = 0`) and image-relative area bins
    /// (`areaRng` from the 640x480 fixture images).
    static let variants: [String: COCOParameters] = {
        var agnostic = COCOParameters()
        agnostic.useCategories = false
        return ["agnostic": agnostic, "relative": .imageRelative(width: 640, height: 480)]
    }()

    @Test("Class-agnostic AP and image-relative bins equal pycocotools' to 1e-6, summary text included",
          arguments: ["mixed", "nolarge"], ["agnostic", "relative"])
    func matchesPycocotoolsUnderVariant(name: String, variant: String) throws {
        let groundTruth = try COCOFileReader.readGroundTruth(path: Fixture.path("coco_\(name)_gt.json"))
        let detections = try COCOFileReader.readDetections(path: Fixture.path("coco_\(name)_dt.json"))
        let expected = try #require(Fixture.json("coco_\(name)_\(variant)_expected.json") as? [String: Any])
        let expectedStats = try #require(expected["stats"] as? [Double])
        let parameters = try #require(Self.variants[variant])
        let evaluation = try COCOEvaluator.evaluate(groundTruth: groundTruth, detections: detections, parameters: parameters)
        #expect(evaluation.stats.count == 12)
        for (index, value) in evaluation.stats.enumerated() {
            #expect(abs(value - expectedStats[index]) <= 1e-6,
                    "\(variant) \(COCOEvaluation.statNames[index]): \(value) vs pycocotools \(expectedStats[index])")
        }
        // The default evaluation differs, so the variant is not a no-op on these fixtures.
        let standard = try COCOEvaluator.evaluate(groundTruth: groundTruth, detections: detections).stats
        #expect(standard != evaluation.stats)
        let text = try #require(expected["summary"] as? String)
        #expect(evaluation.summaryLines.joined(separator: "\n") + "\n" == text)
    }

    @Test("Thresholds are numpy's linspace values")
    func thresholds() {
        let parameters = COCOParameters()
        #expect(parameters.iouThresholds[5] == 0.75)
        #expect(parameters.recallThresholds[35] == 0.35000000000000003)  // 35 * 0.01, not 0.35 (numpy agrees)
        #expect(parameters.recallThresholds[100] == 1.0)
    }

    @Test("Perfect detections give AP 1; none give 0; undefined ranges give -1")
    func handMadeCases() throws {
        let objects = [
            COCOAnnotation(id: 1, imageID: 1, categoryID: 1, box: [0, 0, 10, 10], area: 100, isCrowd: false),
            COCOAnnotation(id: 2, imageID: 2, categoryID: 1, box: [5, 5, 40, 40], area: 1600, isCrowd: false),
        ]
        let truth = COCOGroundTruth(imageIDs: [1, 2, 3], categoryIDs: [1], annotations: objects)
        let perfect = objects.map { COCODetection(imageID: $0.imageID, categoryID: 1, box: $0.box, score: 0.9) }
        let stats = try COCOEvaluator.evaluate(groundTruth: truth, detections: perfect).stats
        // Precision is tp / (tp + fp + 2^-52), so "perfect" is 1 - 2^-52-ish, as in pycocotools.
        for index in [0, 1, 2, 3, 4, 7, 8] { #expect(abs(stats[index] - 1) < 1e-12) }
        #expect(stats[5] == -1.0)  // no large object
        #expect(stats[6] == 1.0)  // recall is tp / objects, exact
        let empty = try COCOEvaluator.evaluate(groundTruth: truth, detections: []).stats
        #expect(empty[0] == 0.0 && empty[8] == 0.0)
        // A detection inside a crowd region is ignored, so it does not lower precision.
        var crowded = truth
        crowded.annotations.append(
            COCOAnnotation(id: 3, imageID: 3, categoryID: 1, box: [0, 0, 100, 100], area: 10000, isCrowd: true))
        let withCrowdHit = perfect + [COCODetection(imageID: 3, categoryID: 1, box: [10, 10, 20, 20], score: 0.95)]
        #expect(abs(try COCOEvaluator.evaluate(groundTruth: crowded, detections: withCrowdHit).stats[0] - 1) < 1e-12)
        // The same detection on an image without objects is a false positive ranked first.
        let falsePositive = perfect + [COCODetection(imageID: 3, categoryID: 1, box: [10, 10, 20, 20], score: 0.95)]
        #expect(try COCOEvaluator.evaluate(groundTruth: truth, detections: falsePositive).stats[0] < 0.7)
    }

    @Test("Crowd IoU divides by the detection's area")
    func crowdIoU() {
        let inside = COCOBoxIoU.iou(detection: [10, 10, 20, 20], object: [0, 0, 100, 100], isCrowd: true)
        #expect(inside == 1.0)
        let normal = COCOBoxIoU.iou(detection: [10, 10, 20, 20], object: [0, 0, 100, 100], isCrowd: false)
        #expect(normal == 400.0 / 10000.0)
    }

    @Test("Bad files throw errors naming the file and the field")
    func badInput() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coco-bad-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ text: String, _ name: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let truncated = try write("{\"images\": [", "truncated.json")
        #expect(throws: MetricsError.self) { try COCOFileReader.readGroundTruth(path: truncated) }
        let missingArea = try write("""
            {"images": [{"id": 1}], "categories": [{"id": 1}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]}
            """, "missing-area.json")
        do {
            _ = try COCOFileReader.readGroundTruth(path: missingArea)
            Issue.record("expected an error")
        } catch let error as MetricsError {
            #expect(error.description.contains("missing-area.json"))
            #expect(error.description.contains("annotations[0].area"))
        }
        let badBox = try write("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1], \"score\": 0.5}]", "bad-box.json")
        do {
            _ = try COCOFileReader.readDetections(path: badBox)
            Issue.record("expected an error")
        } catch let error as MetricsError {
            #expect(error.description.contains("bad-box.json") && error.description.contains("[0].bbox"))
        }
        let noScore = try write("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]", "no-score.json")
        #expect(throws: MetricsError.self) { try COCOFileReader.readDetections(path: noScore) }
        // Detections on an image the annotation file does not list.
        let truth = COCOGroundTruth(imageIDs: [1], categoryIDs: [1], annotations: [])
        #expect(throws: MetricsError.self) {
            try COCOEvaluator.evaluate(groundTruth: truth,
                                       detections: [COCODetection(imageID: 9, categoryID: 1, box: [0, 0, 1, 1], score: 1)])
        }
    }

    @Test("numpy pairwise sum and stable argsort")
    func numpyCompatibility() {
        #expect(NumpyCompatibility.stableArgsortDescending([0.5, 0.9, 0.5, 0.9, 0.1]) == [1, 3, 0, 2, 4])
        #expect(NumpyCompatibility.searchSortedLeft([0.1, 0.2, 0.2, 0.5], 0.2) == 1)
        #expect(NumpyCompatibility.searchSortedLeft([0.1, 0.2, 0.2, 0.5], 0.6) == 4)
        let values = (0..<1000).map { Double($0 % 7) * 0.1 + 1e-3 * Double($0) }
        let naive = values.reduce(0, +)
        #expect(abs(NumpyCompatibility.pairwiseSum(values) - naive) < 1e-9)
    }
}
