import Foundation

/// Reads COCO annotation and results JSON with `JSONSerialization`. Every failure names the
/// file and the offending field (`annotations[12].bbox`), never a bare decoding error.
public enum COCOFileReader {
    /// Reads an annotation file: `images[].id`, `categories[].id` and `annotations[]` with
    /// `id`, `image_id`, `category_id`, `bbox`, `area` and `iscrowd` (0 when absent; pycocotools
    /// itself fails on a missing `iscrowd`). Annotation ids must be unique.
    public static func readGroundTruth(path: String) throws -> COCOGroundTruth {
        let root = try loadJSON(path: path)
        guard let object = root as? [String: Any] else {
            throw MetricsError.malformedJSON(file: path, reason: "top level must be an object")
        }
        return try parseGroundTruth(object, file: path)
    }

    /// Reads a results file: a JSON list of `{image_id, category_id, bbox, score}`.
    public static func readDetections(path: String) throws -> [COCODetection] {
        let root = try loadJSON(path: path)
        guard let list = root as? [Any] else {
            throw MetricsError.malformedJSON(file: path, reason: "top level must be a list of detections")
        }
        return try parseDetections(list, file: path)
    }

    /// Parses an annotation object already in memory; `file` names it in errors.
    public static func parseGroundTruth(_ object: [String: Any], file: String) throws -> COCOGroundTruth {
        let images = try array(object[COCOKey.images], field: COCOKey.images, file: file)
        let imageIDs = try images.enumerated().map { index, item in
            let field = "\(COCOKey.images)[\(index)]"
            return try integer(try dictionary(item, field: field, file: file)[COCOKey.id],
                               field: field + ".\(COCOKey.id)", file: file)
        }
        let categories = try array(object[COCOKey.categories], field: COCOKey.categories, file: file)
        let categoryIDs = try categories.enumerated().map { index, item in
            let field = "\(COCOKey.categories)[\(index)]"
            return try integer(try dictionary(item, field: field, file: file)[COCOKey.id],
                               field: field + ".\(COCOKey.id)", file: file)
        }
        let items = try array(object[COCOKey.annotations], field: COCOKey.annotations, file: file)
        var annotations: [COCOAnnotation] = []
        annotations.reserveCapacity(items.count)
        var seenIDs = Set<Int>()
        for (index, item) in items.enumerated() {
            let prefix = "\(COCOKey.annotations)[\(index)]"
            let fields = try dictionary(item, field: prefix, file: file)
            let id = try integer(fields[COCOKey.id], field: prefix + ".id", file: file)
            guard seenIDs.insert(id).inserted else {
                throw MetricsError.invalidField(file: file, field: prefix + ".id", reason: "duplicate annotation id \(id)")
            }
            var isCrowd = false
            if let crowd = fields[COCOKey.isCrowd] {
                isCrowd = try integer(crowd, field: prefix + ".iscrowd", file: file) != 0
            }
            annotations.append(COCOAnnotation(
                id: id,
                imageID: try integer(fields[COCOKey.imageID], field: prefix + ".image_id", file: file),
                categoryID: try integer(fields[COCOKey.categoryID], field: prefix + ".category_id", file: file),
                box: try box(fields[COCOKey.bbox], field: prefix + ".bbox", file: file),
                area: try real(fields[COCOKey.area], field: prefix + ".area", file: file),
                isCrowd: isCrowd))
        }
        return COCOGroundTruth(imageIDs: imageIDs, categoryIDs: categoryIDs, annotations: annotations)
    }

    /// Parses a results list already in memory; `file` names it in errors.
    public static func parseDetections(_ list: [Any], file: String) throws -> [COCODetection] {
        try list.enumerated().map { index, item in
            let prefix = "[\(index)]"
            let fields = try dictionary(item, field: prefix, file: file)
            let score = try real(fields[COCOKey.score], field: prefix + ".score", file: file)
            return COCODetection(
                imageID: try integer(fields[COCOKey.imageID], field: prefix + ".image_id", file: file),
                categoryID: try integer(fields[COCOKey.categoryID], field: prefix + ".category_id", file: file),
                box: try box(fields[COCOKey.bbox], field: prefix + ".bbox", file: file),
                score: score)
        }
    }

    // MARK: - Field helpers

    static func loadJSON(path: String) throws -> Any {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw MetricsError.unreadable(file: path, reason: error.localizedDescription)
        }
        do {
            return try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw MetricsError.malformedJSON(file: path, reason: "\(error)")
        }
    }

    static func dictionary(_ value: Any?, field: String, file: String) throws -> [String: Any] {
        guard let value else { throw missing(field, file) }
        guard let object = value as? [String: Any] else {
            throw MetricsError.invalidField(file: file, field: field, reason: "expected an object")
        }
        return object
    }

    static func array(_ value: Any?, field: String, file: String) throws -> [Any] {
        guard let value else { throw missing(field, file) }
        guard let list = value as? [Any] else {
            throw MetricsError.invalidField(file: file, field: field, reason: "expected a list")
        }
        return list
    }

    static func real(_ value: Any?, field: String, file: String) throws -> Double {
        guard let value else { throw missing(field, file) }
        guard let number = value as? NSNumber else {
            throw MetricsError.invalidField(file: file, field: field, reason: "expected a number, got \(value)")
        }
        let result = number.doubleValue
        guard result.isFinite else {
            throw MetricsError.invalidField(file: file, field: field, reason: "expected a finite number")
        }
        return result
    }

    static func integer(_ value: Any?, field: String, file: String) throws -> Int {
        let result = try real(value, field: field, file: file)
        guard result == result.rounded(), abs(result) < 9.0e15 else {
            throw MetricsError.invalidField(file: file, field: field, reason: "expected an integer, got \(result)")
        }
        return Int(result)
    }

    static func box(_ value: Any?, field: String, file: String) throws -> [Double] {
        let list = try array(value, field: field, file: file)
        guard list.count == 4 else {
            throw MetricsError.invalidField(file: file, field: field,
                                            reason: "expected [x, y, width, height], got \(list.count) values")
        }
        return try list.enumerated().map { try real($1, field: "\(field)[\($0)]", file: file) }
    }

    static func missing(_ field: String, _ file: String) -> MetricsError {
        MetricsError.invalidField(file: file, field: field, reason: "missing")
    }
}
