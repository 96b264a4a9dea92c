/// Box IoU as pycocotools' `maskUtils.iou` for boxes (`bbIou` in maskApi.c), in Double.
public enum COCOBoxIoU {
    /// IoU of two [x, y, width, height] boxes. For a crowd object the union is the detection's
    /// own area, so a detection inside a crowd region scores its covered fraction.
    public static func iou(detection d: [Double], object g: [Double], isCrowd: Bool) -> Double {
        let width = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
        if width <= 0 { return 0 }
        let height = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
        if height <= 0 { return 0 }
        let intersection = width * height
        let detectionArea = d[2] * d[3]
        let union = isCrowd ? detectionArea : detectionArea + g[2] * g[3] - intersection
        return intersection / union
    }

    /// [D][G] IoUs of detections against objects (empty when either side is empty).
    public static func matrix(detections: [[Double]], objects: [[Double]], isCrowd: [Bool]) -> [[Double]] {
        precondition(objects.count == isCrowd.count, "one crowd flag per object")
        if detections.isEmpty || objects.isEmpty { return [] }
        return detections.map { d in objects.indices.map { iou(detection: d, object: objects[$0], isCrowd: isCrowd[$0]) } }
    }
}
