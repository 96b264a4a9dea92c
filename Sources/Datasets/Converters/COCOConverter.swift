import Foundation

/// COCO instances JSON + image folder → pack of fixed-size crops with boxes.
///
/// Input layout (`root`): annotations/instances_<split>.json and <split>/<file_name>, as COCO
/// 2017 ships (split "train2017", "val2017", ...). Crop policy, one crop per image: resize the
/// shorter side to `size` with Pillow-exact bilinear, then take the centred size x size crop
/// (torchvision Resize + CenterCrop). Boxes [x, y, w, h] are scaled, shifted, clipped to the
/// crop and stored as x1, y1, x2, y2; a box whose clipped area is below `minVisibleFraction`
/// of its scaled area (or is empty) is dropped. Images without remaining boxes are kept.
/// Category ids (80 in 1..90 for COCO) map to 0..<K in increasing id order; `category_ids`
/// stores the original id of each index. Crowd flags are kept (`box_crowd`). Images are
/// stored in increasing image id order; `source_ids` holds each image id.
public enum COCOConverter {
    public static let formatName = "coco"

    public struct Options {
        public var size: Int = 64
        public var minVisibleFraction: Double = 0.25
        /// Only these splits (nil: every annotations/instances_*.json).
        public var splits: [String]? = nil
        public init() {}
    }

    struct Category { let id: Int; let name: String }

    /// Splits found under root/annotations, sorted.
    static func discoverSplits(root: String) throws -> [String] {
        let directory = (root as NSString).appendingPathComponent("annotations")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw DatasetError(directory, "no annotations folder (expected annotations/instances_<split>.json)")
        }
        return names.filter { $0.hasPrefix("instances_") && $0.hasSuffix(".json") }
            .map { String($0.dropFirst("instances_".count).dropLast(".json".count)) }.sorted()
    }

    public static func convert(root: String, options: Options = Options()) throws -> PackContents {
        try CropSize.validate(options.size, input: root)
        guard options.minVisibleFraction.isFinite, (0...1).contains(options.minVisibleFraction) else {
            throw DatasetError(root, "--min-visible-fraction \(options.minVisibleFraction) is not a fraction in 0...1")
        }
        let splits = try options.splits ?? discoverSplits(root: root)
        guard !splits.isEmpty else { throw DatasetError(root, "no annotations/instances_*.json found") }
        var categories: [Category]? = nil
        var contents = PackContents(
            sourceFormat: formatName, sourceFiles: [],
            options: ["size": String(options.size), "min_visible_fraction": String(options.minVisibleFraction),
                      "crop": "shorter_side_resize_bilinear_center_crop"],
            classNames: [],
            notes: "one centred crop per image after shorter-side resize; boxes clipped, dropped below min visible fraction")
        for split in splits {
            let jsonPath = (root as NSString).appendingPathComponent("annotations/instances_\(split).json")
            let imageDirectory = (root as NSString).appendingPathComponent(split)
            let (packSplit, splitCategories) = try convertSplit(
                name: split, jsonPath: jsonPath, imageDirectory: imageDirectory, options: options)
            if let categories, categories.map(\.id) != splitCategories.map(\.id) {
                throw DatasetError(jsonPath, "categories differ from those of the other splits")
            }
            categories = splitCategories
            contents.sourceFiles.append("annotations/instances_\(split).json")
            contents.add(packSplit)
        }
        contents.classNames = categories!.map(\.name)
        contents.categoryIds = categories!.map { Int32($0.id) }
        for split in contents.splits { try split.validate(numClasses: contents.classNames.count, file: root) }
        return contents
    }

    static func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
    /// Whole numbers up to 2^53 in magnitude (exact in a JSON double). Larger values are refused
    /// rather than converted: NSNumber.intValue of 1e300 traps, and sums of them overflow.
    static let largestInteger = 9_007_199_254_740_992.0

    static func integer(_ value: Any?) -> Int? {
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) <= largestInteger else { return nil }
        return Int(d)
    }

    /// The top-level JSON object of an annotation file. A parse failure reports what
    /// JSONSerialization says (with its position), not just "malformed".
    public static func parseJSONObject(_ bytes: [UInt8], file: String) throws -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw DatasetError(file, "malformed JSON: \(jsonErrorDescription(error))")
        }
        guard let object = parsed as? [String: Any] else {
            throw DatasetError(file, "the top level is a JSON \(type(of: parsed)), not an object {images, annotations, categories}")
        }
        return object
    }

    /// Foundation hides the useful text in the userInfo of an NSError.
    static func jsonErrorDescription(_ error: Error) -> String {
        let nsError = error as NSError
        let detail = nsError.userInfo["NSDebugDescription"] as? String ?? nsError.localizedDescription
        if let index = nsError.userInfo["NSJSONSerializationErrorIndex"] { return "\(detail) (at byte \(index))" }
        return detail
    }

    /// Category ids are stored as Int32 in the pack.
    static func validateCategoryId(_ id: Int, file: String) throws {
        guard Int32(exactly: id) != nil else {
            throw DatasetError(file, "category id \(id) does not fit the pack's int32 'category_ids'")
        }
    }

    struct ImageInfo { let id: Int; let file: String; let width: Int; let height: Int }
    struct Annotation { let id: Int; let box: [Double]; let category: Int32; let crowd: UInt8 }

    /// An annotation file, checked: categories by id, images by id, each image's annotations.
    struct AnnotationFile {
        let categories: [Category]
        let images: [ImageInfo]
        let perImage: [[Annotation]]
    }

    /// Parses and checks an instances_<split>.json held in memory (no image is read); `file`
    /// names it in errors. `convert` and the fuzz target both come through here.
    public static func checkAnnotationFile(_ bytes: [UInt8], file: String) throws {
        _ = try parseAnnotationFile(bytes, file: file)
    }

    static func parseAnnotationFile(_ bytes: [UInt8], file jsonPath: String) throws -> AnnotationFile {
        let top = try parseJSONObject(bytes, file: jsonPath)
        guard let imageEntries = top["images"] as? [[String: Any]],
              let annotationEntries = top["annotations"] as? [[String: Any]],
              let categoryEntries = top["categories"] as? [[String: Any]] else {
            throw DatasetError(jsonPath, "missing 'images', 'annotations' or 'categories' arrays")
        }
        var categories: [Category] = []
        for entry in categoryEntries {
            guard let id = integer(entry["id"]), let categoryName = entry["name"] as? String else {
                throw DatasetError(jsonPath, "category without integer 'id' and string 'name': \(entry)")
            }
            try validateCategoryId(id, file: jsonPath)
            categories.append(Category(id: id, name: categoryName))
        }
        categories.sort { $0.id < $1.id }
        guard Set(categories.map(\.id)).count == categories.count else { throw DatasetError(jsonPath, "duplicate category ids") }
        let contiguous = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1.id, Int32($0)) })

        var images: [ImageInfo] = []
        for entry in imageEntries {
            guard let id = integer(entry["id"]), let file = entry["file_name"] as? String,
                  let width = integer(entry["width"]), let height = integer(entry["height"]), width > 0, height > 0 else {
                throw DatasetError(jsonPath, "image entry needs integer id, width, height and a file_name: \(entry)")
            }
            images.append(ImageInfo(id: id, file: file, width: width, height: height))
        }
        images.sort { $0.id < $1.id }
        let imageIndex = Dictionary(images.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        guard imageIndex.count == images.count else { throw DatasetError(jsonPath, "duplicate image ids") }

        var perImage = [[Annotation]](repeating: [], count: images.count)
        for entry in annotationEntries {
            let annotationId = integer(entry["id"]) ?? -1
            func fail(_ problem: String) -> DatasetError { DatasetError(jsonPath, "annotation \(annotationId): \(problem)") }
            guard let imageId = integer(entry["image_id"]), let index = imageIndex[imageId] else {
                throw fail("image_id \(entry["image_id"] ?? "missing") is not in 'images'")
            }
            guard let categoryId = integer(entry["category_id"]), let category = contiguous[categoryId] else {
                throw fail("category_id \(entry["category_id"] ?? "missing") is not in 'categories'")
            }
            guard let bbox = entry["bbox"] as? [Any], bbox.count == 4, case let box = bbox.compactMap(number), box.count == 4,
                  box[2] >= 0, box[3] >= 0 else {
                throw fail("bbox must be [x, y, w, h] with w, h >= 0")
            }
            let crowd = integer(entry["iscrowd"]) ?? 0
            guard crowd == 0 || crowd == 1 else { throw fail("iscrowd must be 0 or 1") }
            try validateSegmentation(entry["segmentation"], crowd: crowd == 1, image: images[index], fail: fail)
            perImage[index].append(Annotation(id: annotationId, box: box, category: category, crowd: UInt8(crowd)))
        }

        return AnnotationFile(categories: categories, images: images, perImage: perImage)
    }

    static func convertSplit(
        name: String, jsonPath: String, imageDirectory: String, options: Options
    ) throws -> (PackSplit, [Category]) {
        let parsed = try parseAnnotationFile(try readFileBytes(jsonPath), file: jsonPath)
        let (categories, images, perImage) = (parsed.categories, parsed.images, parsed.perImage)
        let size = options.size
        var pixels: [UInt8] = []
        pixels.reserveCapacity(images.count * size * size * 3)
        var boxes = PackBoxes()
        for (index, info) in images.enumerated() {
            let path = (imageDirectory as NSString).appendingPathComponent(info.file)
            let decoded = try ImageCodec.decodeRGB(file: path)
            guard decoded.width == info.width, decoded.height == info.height else {
                throw DatasetError(path, "image is \(decoded.width)x\(decoded.height) but \(jsonPath) says \(info.width)x\(info.height)")
            }
            let cropped = try ImageResize.resizeAndCenterCrop(decoded, size: size, file: path)
            pixels.append(contentsOf: cropped.image.pixels)
            var kept: [[Float]] = [], classes: [Int32] = [], crowd: [UInt8] = []
            for annotation in perImage[index].sorted(by: { $0.id < $1.id }) {
                let x1 = annotation.box[0] * cropped.scaleX - Double(cropped.left)
                let y1 = annotation.box[1] * cropped.scaleY - Double(cropped.top)
                let x2 = (annotation.box[0] + annotation.box[2]) * cropped.scaleX - Double(cropped.left)
                let y2 = (annotation.box[1] + annotation.box[3]) * cropped.scaleY - Double(cropped.top)
                let cx1 = min(max(x1, 0), Double(size)), cy1 = min(max(y1, 0), Double(size))
                let cx2 = min(max(x2, 0), Double(size)), cy2 = min(max(y2, 0), Double(size))
                let fullArea = (x2 - x1) * (y2 - y1)
                let visibleArea = (cx2 - cx1) * (cy2 - cy1)
                guard cx2 > cx1, cy2 > cy1, fullArea > 0, visibleArea >= options.minVisibleFraction * fullArea else { continue }
                kept.append([Float(cx1), Float(cy1), Float(cx2), Float(cy2)])
                classes.append(annotation.category)
                crowd.append(annotation.crowd)
            }
            boxes.appendImage(boxes: kept, classes: classes, crowd: crowd)
        }
        var split = PackSplit(name: name, count: images.count, height: size, width: size, channels: 3, images: pixels)
        split.boxes = boxes
        split.sourceIds = images.map { Int64($0.id) }
        return (split, categories)
    }

    /// Polygons: a list of flat [x1, y1, x2, y2, ...] lists with at least 3 points.
    /// Crowd: uncompressed RLE {counts: [Int], size: [h, w]} whose counts sum to h*w, or
    /// compressed RLE (counts as a string), accepted without decoding.
    static func validateSegmentation<I>(_ value: Any?, crowd: Bool, image: I, fail: (String) -> DatasetError) throws {
        guard let value else { return }
        if let polygons = value as? [Any] {
            for polygon in polygons {
                guard let coordinates = polygon as? [Any], coordinates.count >= 6, coordinates.count % 2 == 0,
                      coordinates.allSatisfy({ number($0) != nil }) else {
                    throw fail("polygon must be a list of at least 3 x, y pairs")
                }
            }
            return
        }
        guard let rle = value as? [String: Any], let rleSize = (rle["size"] as? [Any])?.compactMap(integer), rleSize.count == 2 else {
            throw fail("segmentation is neither polygons nor RLE {counts, size}")
        }
        // Sizes and counts come from the file: multiply and add with overflow checks.
        let (area, areaOverflow) = rleSize[0].multipliedReportingOverflow(by: rleSize[1])
        guard rleSize[0] >= 0, rleSize[1] >= 0, !areaOverflow else {
            throw fail("RLE size \(rleSize) must be two non-negative integers whose product fits Int")
        }
        if let counts = rle["counts"] as? [Any] {
            let values = counts.compactMap(integer)
            guard values.count == counts.count, values.allSatisfy({ $0 >= 0 }) else { throw fail("RLE counts must be non-negative integers") }
            var total = 0
            for value in values {
                let (sum, overflow) = total.addingReportingOverflow(value)
                guard !overflow, sum <= area else { throw fail("RLE counts sum to more than h*w = \(area)") }
                total = sum
            }
            guard total == area else {
                throw fail("RLE counts sum to \(total), not h*w = \(area)")
            }
        } else if !(rle["counts"] is String) {
            throw fail("RLE without counts")
        }
    }
}
