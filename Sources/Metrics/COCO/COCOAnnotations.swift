import Foundation

/// One ground-truth object of a COCO annotation file.
public struct COCOAnnotation: Sendable, Equatable {
    public var id: Int
    public var imageID: Int
    public var categoryID: Int
    /// [x, y, width, height] in pixels (COCO's top-left corner convention).
    public var box: [Double]
    /// The `area` field (for instances, the segmentation area, not the box's): it decides the
    /// small/medium/large range, as in pycocotools.
    public var area: Double
    /// Crowd regions never count as misses, and a detection on one is ignored, not a false positive.
    public var isCrowd: Bool

    public init(id: Int, imageID: Int, categoryID: Int, box: [Double], area: Double, isCrowd: Bool) {
        precondition(box.count == 4, "a COCO box is [x, y, width, height], got \(box.count) values")
        self.id = id
        self.imageID = imageID
        self.categoryID = categoryID
        self.box = box
        self.area = area
        self.isCrowd = isCrowd
    }
}

/// One scored detection of a COCO results file.
public struct COCODetection: Sendable, Equatable {
    public var imageID: Int
    public var categoryID: Int
    /// [x, y, width, height]; its area for the area ranges is width * height, as pycocotools' loadRes.
    public var box: [Double]
    public var score: Double

    public init(imageID: Int, categoryID: Int, box: [Double], score: Double) {
        precondition(box.count == 4, "a COCO box is [x, y, width, height], got \(box.count) values")
        self.imageID = imageID
        self.categoryID = categoryID
        self.box = box
        self.score = score
    }

    public var area: Double { box[2] * box[3] }
}

/// The parts of a COCO annotation file that box evaluation uses.
public struct COCOGroundTruth: Sendable, Equatable {
    /// Ids from `images`; evaluation runs over them sorted, so images without objects still count.
    public var imageIDs: [Int]
    /// Ids from `categories`.
    public var categoryIDs: [Int]
    /// In file order, which decides the order of objects within an image (as pycocotools).
    public var annotations: [COCOAnnotation]

    public init(imageIDs: [Int], categoryIDs: [Int], annotations: [COCOAnnotation]) {
        self.imageIDs = imageIDs
        self.categoryIDs = categoryIDs
        self.annotations = annotations
    }
}

/// JSON field names of the COCO formats.
enum COCOKey {
    static let images = "images"
    static let categories = "categories"
    static let annotations = "annotations"
    static let id = "id"
    static let imageID = "image_id"
    static let categoryID = "category_id"
    static let bbox = "bbox"
    static let area = "area"
    static let isCrowd = "iscrowd"
    static let score = "score"
}
