import Foundation
import HDF5Kit

/// A pack opened for reading: its manifest attributes, and splits loaded on demand.
public final class Pack {
    public let path: String
    public let file: HDF5File
    public let formatVersion: Int64
    public let sourceFormat: String
    public let sourceFiles: [String]
    public let converterOptions: String
    public let splitNames: [String]
    public let classNames: [String]
    public let coarseClassNames: [String]?
    public let categoryIds: [Int32]?
    public let storedDigest: String
    public let notes: String

    public init(openingAt path: String) throws {
        self.path = path
        file = try HDF5File(openingForReadAt: path)
        formatVersion = try file.int64Attribute(PackKeys.formatVersion)
        guard formatVersion == PackKeys.formatVersionValue else {
            throw DatasetError(path, "pack format version \(formatVersion), this build reads \(PackKeys.formatVersionValue)")
        }
        sourceFormat = try file.stringAttribute(PackKeys.sourceFormat)
        sourceFiles = try file.stringAttribute(PackKeys.sourceFiles).split(separator: "\n").map(String.init)
        converterOptions = try file.stringAttribute(PackKeys.converterOptions)
        splitNames = try file.stringAttribute(PackKeys.splits).split(separator: ",").map(String.init)
        storedDigest = try file.stringAttribute(PackKeys.contentDigest)
        notes = (try? file.stringAttribute(PackKeys.notes)) ?? ""
        classNames = try Pack.lines(file, PackKeys.classNames)
        coarseClassNames = file.contains(PackKeys.coarseClassNames) ? try Pack.lines(file, PackKeys.coarseClassNames) : nil
        categoryIds = file.contains(PackKeys.categoryIds) ? try file.read(PackKeys.categoryIds, as: Int32.self).values : nil
    }

    private static func lines(_ file: HDF5File, _ key: String) throws -> [String] {
        let bytes = try file.read(key, as: UInt8.self).values
        return bytes.isEmpty ? [] : String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    public var numClasses: Int { classNames.count }

    /// Shape [N, H, W, C] of a split's images without reading them.
    public func imageShape(split: String) throws -> [Int] {
        try file.shape(of: "\(split)/\(PackKeys.images)")
    }

    /// Loads one split into memory, checking every shape against the images'.
    public func split(_ name: String) throws -> PackSplit {
        guard splitNames.contains(name) else {
            throw DatasetError(path, "no split '\(name)' (the pack has \(splitNames.joined(separator: ", ")))")
        }
        let key = { (dataset: String) in "\(name)/\(dataset)" }
        let (images, shape) = try file.read(key(PackKeys.images), as: UInt8.self)
        guard shape.count == 4 else { throw DatasetError(path, "'\(key(PackKeys.images))' has shape \(shape), expected [N, H, W, C]") }
        let count = shape[0]
        var split = PackSplit(name: name, count: count, height: shape[1], width: shape[2], channels: shape[3], images: images)
        if file.contains(key(PackKeys.labels)) { split.labels = try file.read(key(PackKeys.labels), as: Int32.self, shape: [count]) }
        if file.contains(key(PackKeys.coarseLabels)) {
            split.coarseLabels = try file.read(key(PackKeys.coarseLabels), as: Int32.self, shape: [count])
        }
        if file.contains(key(PackKeys.masks)) {
            split.masks = try file.read(key(PackKeys.masks), as: UInt8.self, shape: [count, shape[1], shape[2]])
        }
        if file.contains(key(PackKeys.sourceIds)) { split.sourceIds = try file.read(key(PackKeys.sourceIds), as: Int64.self, shape: [count]) }
        if file.contains(key(PackKeys.boxOffsets)) {
            let offsets = try file.read(key(PackKeys.boxOffsets), as: Int64.self, shape: [count + 1])
            let boxCount = Int(offsets.last ?? 0)
            split.boxes = PackBoxes(
                offsets: offsets,
                boxes: try file.read(key(PackKeys.boxes), as: Float.self, shape: [boxCount, 4]),
                classes: try file.read(key(PackKeys.boxClasses), as: Int32.self, shape: [boxCount]),
                crowd: try file.read(key(PackKeys.boxCrowd), as: UInt8.self, shape: [boxCount]))
        }
        try split.validate(numClasses: numClasses, file: path)
        return split
    }

    /// Recomputes the content digest from the stored datasets.
    public func computeDigest() throws -> String { try PackDigest.digest(ofFile: file) }
}
