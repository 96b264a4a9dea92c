import Foundation
import HDF5Kit

/// Everything a converter produces; `write(to:)` stores it as one pack atomically.
public struct PackContents {
    public var sourceFormat: String
    /// Inputs relative to what the user passed (stored as a newline-joined attribute).
    public var sourceFiles: [String]
    /// Options that shaped the contents, stored as sorted-key JSON.
    public var options: [String: String]
    public var classNames: [String]
    public var coarseClassNames: [String]?
    /// Original dataset category id of each contiguous class (COCO).
    public var categoryIds: [Int32]?
    public var notes: String
    public private(set) var splits: [PackSplit] = []

    public init(sourceFormat: String, sourceFiles: [String], options: [String: String], classNames: [String], notes: String = "") {
        self.sourceFormat = sourceFormat
        self.sourceFiles = sourceFiles
        self.options = options
        self.classNames = classNames
        self.notes = notes
    }

    public mutating func add(_ split: PackSplit) {
        precondition(!splits.contains { $0.name == split.name }, "split \(split.name) added twice")
        splits.append(split)
    }

    /// Every dataset of the pack by full path.
    func packArrays() -> [String: PackArray] {
        var arrays: [String: PackArray] = [PackKeys.classNames: .lines(classNames)]
        if let coarseClassNames { arrays[PackKeys.coarseClassNames] = .lines(coarseClassNames) }
        if let categoryIds { arrays[PackKeys.categoryIds] = .int32(categoryIds, shape: [categoryIds.count]) }
        for split in splits { arrays.merge(split.packArrays()) { a, _ in a } }
        return arrays
    }

    /// The content digest the pack will carry.
    public func contentDigest() -> String { PackDigest.digest(of: packArrays()) }

    /// Validates, then writes the pack to `path` through a temporary file and rename. Images
    /// are chunked by 256 images with deflate level 4. Returns the content digest.
    @discardableResult
    public func write(to path: String) throws -> String {
        for split in splits { try split.validate(numClasses: classNames.count, file: path) }
        let arrays = packArrays()
        let digest = PackDigest.digest(of: arrays)
        try HDF5File.writeAtomically(to: path) { file in
            for name in arrays.keys.sorted(by: PackDigest.utf8Less) {
                try Self.store(arrays[name]!, name: name, in: file)
            }
            try file.setAttribute(PackKeys.formatVersion, PackKeys.formatVersionValue)
            try file.setAttribute(PackKeys.sourceFormat, sourceFormat)
            try file.setAttribute(PackKeys.sourceFiles, sourceFiles.joined(separator: "\n"))
            try file.setAttribute(PackKeys.converterOptions, Self.json(options))
            try file.setAttribute(PackKeys.splits, splits.map(\.name).sorted().joined(separator: ","))
            try file.setAttribute(PackKeys.numClasses, Int64(classNames.count))
            try file.setAttribute(PackKeys.notes, notes)
            try file.setAttribute(PackKeys.contentDigest, digest)
        }
        return digest
    }

    private static func store(_ array: PackArray, name: String, in file: HDF5File) throws {
        let shape = array.shape
        let large = shape.reduce(1, *) >= 4096 && (shape.first ?? 0) > 0
        let chunks: [Int]? = large ? [min(shape[0], shape.count >= 3 ? 256 : 65_536)] + shape.dropFirst() : nil
        let deflate: Int? = large ? 4 : nil
        switch array {
        case .uint8(let v, _): try file.write(v, shape: shape, to: name, chunks: chunks, deflate: deflate)
        case .int32(let v, _): try file.write(v, shape: shape, to: name, chunks: chunks, deflate: deflate)
        case .int64(let v, _): try file.write(v, shape: shape, to: name, chunks: chunks, deflate: deflate)
        case .float32(let v, _): try file.write(v, shape: shape, to: name, chunks: chunks, deflate: deflate)
        }
    }

    /// Sorted-key JSON of string options (deterministic bytes).
    static func json(_ options: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: options, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
