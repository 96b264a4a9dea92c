import Metrics

/// Greedy non-maximum suppression on [x, y, width, height] boxes: visit by score (descending,
/// the lower input index first on ties), keep a box unless it overlaps an already kept box
/// with IoU > threshold. Returns kept input indices in visiting order.
public enum NonMaximumSuppression {
    public static func keep(boxes: [[Double]], scores: [Double], iouThreshold: Double) -> [Int] {
        precondition(boxes.count == scores.count, "one score per box")
        let order = NumpyCompatibility.stableArgsortDescending(scores)
        var kept: [Int] = []
        for candidate in order {
            let suppressed = kept.contains { COCOBoxIoU.iou(detection: boxes[candidate], object: boxes[$0], isCrowd: false) > iouThreshold }
            if !suppressed { kept.append(candidate) }
        }
        return kept
    }
}
