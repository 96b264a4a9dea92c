/// The COCO box-evaluation settings of pycocotools' `Params.setDetParams`.
public struct COCOParameters: Sendable {
    /// `np.linspace(.5, 0.95, 10)`: T = 10 IoU thresholds.
    public var iouThresholds = NumpyCompatibility.linspace(0.5, 0.95, count: 10)
    /// `np.linspace(.0, 1.00, 101)`: R = 101 recall points.
    public var recallThresholds = NumpyCompatibility.linspace(0.0, 1.0, count: 101)
    /// M = 3 detection budgets per image, ascending (the last one truncates each image).
    public var maxDetections = [1, 10, 100]
    /// A = 4 area ranges, inclusive at both ends, on the annotation's `area` field.
    public var areaRanges: [(low: Double, high: Double)] = [
        (0, 1e5 * 1e5), (0, 32 * 32), (32 * 32, 96 * 96), (96 * 96, 1e5 * 1e5),
    ]
    public var areaLabels = ["all", "small", "medium", "large"]

    public init() {}
}
