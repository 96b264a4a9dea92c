/// The COCO box-evaluation settings of pycocotools' `Params.setDetParams`.
public struct COCOParameters: Sendable {
    /// `np.linspace(.5, 0.95, 10)`: T = 10 IoU thresholds.
    public var iouThresholds = NumpyCompatibility.linspace(0.5, 0.95, count: 10)
    /// `np.linspace(.0, 1.00, 101)`: R = 101 recall points.
    public var recallThresholds = NumpyCompatibility.linspace(0.0, 1.0, count: 101)
    /// M = 3 detection budgets per image, ascending (the last one truncates each image).
    public var maxDetections = [1, 10, 100]
    /// A = 4 area ranges, inclusive at both ends, on the annotation's `area` field.
    public var areaRanges: [(low: Double, high: Double)] = COCOParameters.standardAreaRanges
    public var areaLabels = ["all", "small", "medium", "large"]
    /// pycocotools' `useCats`: false pools every category into one (class-agnostic AP; objects
    /// and detections of an image are matched whatever their category).
    public var useCategories = true

    /// COCO's bins in pixels of the original images: small < 32², medium 32²–96², large > 96².
    public static let standardAreaRanges: [(low: Double, high: Double)] = [
        (0, 1e5 * 1e5), (0, 32 * 32), (32 * 32, 96 * 96), (96 * 96, 1e5 * 1e5),
    ]

    public init() {}

    /// The same settings with `useCategories` on (the pooled lists already hold one category).
    var withCategories: COCOParameters {
        var copy = self
        copy.useCategories = true
        return copy
    }

    /// Area bins relative to the image instead of COCO's pixel bins, for small images whose
    /// objects fill a large part of them (the embedded dense scenes): small below
    /// (side/4)², medium up to (side/2)², large above, with side = √(width · height). On the
    /// 64 px mosaic scenes: 16² and 32², i.e. an object that fits in half a 32 px cell, one
    /// that fits in a cell, and one that spans cells. COCO's own thresholds scaled to the image
    /// ((64/640)² of 32² and 96², i.e. 3.2² and 9.6²) would put every object there in `large`.
    public static func imageRelative(width: Double, height: Double) -> COCOParameters {
        precondition(width > 0 && height > 0, "image size \(width)x\(height)")
        let side = (width * height).squareRoot()
        let small = (side / 4) * (side / 4), medium = (side / 2) * (side / 2)
        var parameters = COCOParameters()
        parameters.areaRanges = [(0, 1e5 * 1e5), (0, small), (small, medium), (medium, 1e5 * 1e5)]
        return parameters
    }
}
