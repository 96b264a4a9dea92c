import Foundation
import Testing
import Metrics

/// mIoU/aAcc against a numpy transcription of mmsegmentation (Scripts/reference/make_miou_fixtures.py).
struct SegmentationMetricsTests {
    @Test("Streaming mIoU, per-class IoU and aAcc equal mmseg's formula")
    func matchesReference() throws {
        let expected = try #require(Fixture.json("seg_expected.json") as? [String: Any])
        let classes = try #require(expected["classes"] as? Int)
        let count = try #require(expected["count"] as? Int)
        let pixels = try #require(expected["height"] as? Int) * (try #require(expected["width"] as? Int))
        let predictions = try Fixture.bytes("seg_pred.u8")
        let labels = try Fixture.bytes("seg_label.u8")
        #expect(predictions.count == count * pixels && labels.count == count * pixels)
        var metrics = SegmentationMetrics(classes: classes)
        for i in 0..<count {
            try metrics.add(prediction: Array(predictions[i * pixels..<(i + 1) * pixels]),
                            label: Array(labels[i * pixels..<(i + 1) * pixels]))
        }
        let expectedIoU = try #require(expected["iou"] as? [Any])
        for (c, value) in metrics.intersectionOverUnion.enumerated() {
            if let reference = expectedIoU[c] as? Double {
                #expect(abs(value - reference) < 1e-12, "class \(c)")
            } else {
                #expect(value.isNaN, "class \(c) is absent from predictions and labels")
            }
        }
        #expect(metrics.intersectionOverUnion[classes - 1].isNaN)
        #expect(abs(metrics.meanIoU - (try #require(expected["mIoU"] as? Double))) < 1e-9)
        #expect(abs(metrics.allAccuracy - (try #require(expected["aAcc"] as? Double))) < 1e-9)
        #expect(abs(metrics.meanAccuracy - (try #require(expected["mAcc"] as? Double))) < 1e-9)
    }

    @Test("Ignore pixels do not count; merge equals sequential adds")
    func ignoreAndMerge() throws {
        var a = SegmentationMetrics(classes: 3)
        try a.add(prediction: [0, 1, 2, 2], label: [0, 1, 255, 1] as [UInt8])
        #expect(a.areaLabel == [1, 2, 0])
        #expect(a.areaPrediction == [1, 1, 1])  // the prediction under 255 is not counted
        #expect(a.areaIntersect == [1, 1, 0])
        var b = SegmentationMetrics(classes: 3)
        try b.add(prediction: [2, 2], label: [2, 0] as [UInt8])
        var merged = a
        merged.merge(b)
        var sequential = a
        try sequential.add(prediction: [2, 2], label: [2, 0] as [UInt8])
        #expect(merged == sequential)
    }

    @Test("Out-of-range labels and shape mismatches throw")
    func badInput() {
        var metrics = SegmentationMetrics(classes: 3)
        #expect(throws: MetricsError.self) { try metrics.add(prediction: [0, 1], label: [0, 7] as [UInt8]) }
        #expect(throws: MetricsError.self) { try metrics.add(prediction: [0, 9], label: [0, 1] as [UInt8]) }
        #expect(throws: MetricsError.self) { try metrics.add(prediction: [0], label: [0, 1] as [UInt8]) }
    }
}
