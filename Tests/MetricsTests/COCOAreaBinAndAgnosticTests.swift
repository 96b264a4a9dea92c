import Foundation
import Metrics
import Testing

/// Image-relative area bins, class-agnostic AP (pycocotools' useCats = 0) and undefined (−1)
/// entries, on hand-made cases whose answers are known without pycocotools.
@Suite struct COCOAreaBinAndAgnosticTests {
    /// One image, one object of `side`², one perfect detection; returns (APs, APm, APl).
    func bins(side: Double, _ parameters: COCOParameters) throws -> [Double] {
        let truth = COCOGroundTruth(imageIDs: [1], categoryIDs: [1], annotations: [
            COCOAnnotation(id: 1, imageID: 1, categoryID: 1, box: [2, 2, side, side], area: side * side, isCrowd: false),
        ])
        let detection = COCODetection(imageID: 1, categoryID: 1, box: [2, 2, side, side], score: 0.9)
        let stats = try COCOEvaluator.evaluate(groundTruth: truth, detections: [detection], parameters: parameters).stats
        return Array(stats[3...5])
    }

    /// Equal to 1e-9 (precision is tp / (tp + fp + 2⁻⁵²), so a perfect AP is 1 − 2⁻⁵²), −1 exactly.
    func close(_ values: [Double], _ expected: [Double]) -> Bool {
        values.count == expected.count && zip(values, expected).allSatisfy { $1 == -1 ? $0 == -1 : abs($0 - $1) < 1e-9 }
    }

    @Test func boxesOfKnownSizeLandInTheExpectedBin() throws {
        let relative = COCOParameters.imageRelative(width: 64, height: 64)
        #expect(relative.areaRanges[1].high == 256 && relative.areaRanges[2] == (256, 1024) && relative.areaRanges[3].low == 1024)
        // 64 px image: small below 16², medium to 32², large above; −1 where the bin is empty.
        #expect(close(try bins(side: 14, relative), [1, -1, -1]))
        #expect(close(try bins(side: 28, relative), [-1, 1, -1]))
        #expect(close(try bins(side: 56, relative), [-1, -1, 1]))
        // COCO's pixel bins stay the default: all three sizes are "small" there.
        #expect(COCOParameters().areaRanges.map(\.high) == COCOParameters.standardAreaRanges.map(\.high))
        #expect(close(try bins(side: 28, COCOParameters()), [1, -1, -1]))
        #expect(close(try bins(side: 56, COCOParameters()), [-1, 1, -1]))
        // A non-square image uses √(w·h) as its side.
        #expect(COCOParameters.imageRelative(width: 128, height: 32).areaRanges[1].high == 256)
    }

    @Test func undefinedEntriesStayOutOfTheMeans() throws {
        // Category 2 has no object and no detection: its entries are −1 and must not halve AP.
        let truth = COCOGroundTruth(imageIDs: [1, 2], categoryIDs: [1, 2], annotations: [
            COCOAnnotation(id: 1, imageID: 1, categoryID: 1, box: [0, 0, 20, 20], area: 400, isCrowd: false),
        ])
        let detections = [COCODetection(imageID: 1, categoryID: 1, box: [0, 0, 20, 20], score: 0.5)]
        let evaluation = try COCOEvaluator.evaluate(groundTruth: truth, detections: detections,
                                                    parameters: .imageRelative(width: 64, height: 64))
        #expect(evaluation.precision.contains(-1))
        #expect(close([evaluation.stats[0], evaluation.stats[1]], [1, 1]))
        let record = evaluation.record
        #expect(close([record["AP50"]!, record["APm"]!], [100, 100]))
        #expect(record["APs"] == -1 && record["APl"] == -1, "an empty bin stays undefined, not 0")
    }

    @Test func classAgnosticAPIgnoresTheClass() throws {
        let truth = COCOGroundTruth(imageIDs: [1], categoryIDs: [1, 2], annotations: [
            COCOAnnotation(id: 1, imageID: 1, categoryID: 1, box: [0, 0, 20, 20], area: 400, isCrowd: false),
            COCOAnnotation(id: 2, imageID: 1, categoryID: 2, box: [30, 30, 20, 20], area: 400, isCrowd: false),
        ])
        // Both boxes found, with the classes swapped.
        let detections = [COCODetection(imageID: 1, categoryID: 2, box: [0, 0, 20, 20], score: 0.9),
                          COCODetection(imageID: 1, categoryID: 1, box: [30, 30, 20, 20], score: 0.8)]
        let perClass = try COCOEvaluator.evaluate(groundTruth: truth, detections: detections)
        var pooled = COCOParameters()
        pooled.useCategories = false
        let agnostic = try COCOEvaluator.evaluate(groundTruth: truth, detections: detections, parameters: pooled)
        #expect(perClass.stats[1] == 0)
        #expect(close([agnostic.stats[1], agnostic.stats[0]], [1, 1]))
        #expect(agnostic.categoryIDs.count == 1)
        // A duplicate of one box under the other class is a false positive when classes are pooled.
        let duplicated = detections + [COCODetection(imageID: 1, categoryID: 1, box: [0, 0, 20, 20], score: 0.95)]
        let withDuplicate = try COCOEvaluator.evaluate(groundTruth: truth, detections: duplicated, parameters: pooled)
        #expect(withDuplicate.stats[1] < 1 && withDuplicate.stats[1] > 0.5)
    }
}
