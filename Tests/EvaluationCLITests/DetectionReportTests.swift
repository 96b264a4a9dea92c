import Evaluation
import Metrics
import Testing

/// The class-agnostic keys ask whether the objects were found, whatever their class: the det
/// probe's extra class copies of one box must not count as false positives there.
@Suite struct DetectionReportTests {
    @Test func classCopiesOfAFoundBoxAreNotAgnosticFalsePositives() throws {
        let truth = COCOGroundTruth(imageIDs: [1], categoryIDs: [1, 2], annotations: [
            COCOAnnotation(id: 1, imageID: 1, categoryID: 1, box: [0, 0, 20, 20], area: 400, isCrowd: false),
            COCOAnnotation(id: 2, imageID: 1, categoryID: 2, box: [40, 40, 20, 20], area: 400, isCrowd: false),
        ])
        // Each object boxed exactly, under its class and again under the other; object 1's copy
        // outscores object 2's true box, so pooled as is it would be a false positive ranked
        // above a true one (agnostic AP50 2/3-ish, not 100).
        let detections = [
            COCODetection(imageID: 1, categoryID: 1, box: [0, 0, 20, 20], score: 0.9),
            COCODetection(imageID: 1, categoryID: 2, box: [0, 0, 20, 20], score: 0.8),
            COCODetection(imageID: 1, categoryID: 2, box: [40, 40, 20, 20], score: 0.7),
            COCODetection(imageID: 1, categoryID: 1, box: [40, 40, 20, 20], score: 0.1),
        ]
        let parameters = COCOParameters.imageRelative(width: 64, height: 64)
        let metrics = try DetectionReport.metrics(groundTruth: truth, detections: detections, parameters: parameters, agnosticIoU: 0.5)
        #expect(abs(metrics["AP50_agnostic"]! - 100) < 1e-6, "\(metrics)")
        #expect(abs(metrics["AP_agnostic"]! - 100) < 1e-6, "\(metrics)")
        // The class-aware AP keeps every detection: class 2's copy of object 1 outranks its true
        // box (AP50 50), class 1's copy ranks last (100): mean 75.
        #expect(abs(metrics["AP50"]! - 75) < 1e-6, "\(metrics)")
        // Without the agnostic NMS the same pooled evaluation is lower: the test can fail.
        var pooled = parameters
        pooled.useCategories = false
        let raw = try COCOEvaluator.evaluate(groundTruth: truth, detections: detections, parameters: pooled).record
        #expect(raw["AP50"]! < 90, "\(raw)")
    }
}
