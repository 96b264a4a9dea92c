import Foundation

/// MNIST-style IDX files (raw or gzip) → pack. The embedded default is Fashion-MNIST from
/// Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
///
/// IDX: big-endian magic 0x0000_08<rank> (0x08 = unsigned byte), then `rank` uint32 sizes,
/// then the bytes row-major. Images are rank 3 [N, rows, cols], labels rank 1 [N].
/// Stored images are padded with zeros (the background value) to `padTo` x `padTo`,
/// centred, and the gray channel is replicated `channels` times, so Fashion-MNIST becomes
/// [N, 32, 32, 3] like CIFAR and every model sees one input format.
public enum IDXConverter {
    public static let formatName = "idx"
    public static let defaultInput = "/usr/share/datasets/fashion-mnist"
    public static let fashionMNISTClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    public struct Options {
        public var padTo: Int = 32
        public var channels: Int = 3
        /// Class names; their count bounds the labels.
        public var classNames: [String] = IDXConverter.fashionMNISTClassNames
        public init() {}
    }

    /// An IDX image file: [count, rows, cols] bytes.
    public struct Images {
        public var count: Int
        public var rows: Int
        public var columns: Int
        public var pixels: [UInt8]
    }

    /// Reads an IDX array (rank `expectedRank`, unsigned byte) and returns its sizes and data.
    static func readArray(_ path: String, expectedRank: Int) throws -> (sizes: [Int], data: [UInt8]) {
        try parseArray(Gzip.readMaybeCompressed(path), file: path, expectedRank: expectedRank)
    }

    /// Same, from the (decompressed) bytes of an IDX file; `file` names them in errors.
    public static func parseArray(_ bytes: [UInt8], file path: String, expectedRank: Int) throws -> (sizes: [Int], data: [UInt8]) {
        guard bytes.count >= 4 else { throw DatasetError(path, "too short for an IDX header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DatasetError(path, String(format: "wrong IDX magic %02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 else { throw DatasetError(path, String(format: "IDX element type 0x%02x is not unsigned byte (0x08)", bytes[2])) }
        let rank = Int(bytes[3])
        guard rank == expectedRank else { throw DatasetError(path, "IDX rank \(rank), expected \(expectedRank)") }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else { throw DatasetError(path, "truncated IDX header") }
        let sizes = (0..<rank).map { axis -> Int in
            let o = 4 + 4 * axis
            return Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        }
        // Each size is up to 2^32 - 1, so their product can overflow Int: check every step.
        guard let elements = checkedProduct(sizes, atMost: Int.max - headerSize) else {
            throw DatasetError(path, "IDX header sizes \(sizes) describe more bytes than can be addressed")
        }
        let expected = headerSize + elements
        guard bytes.count == expected else {
            let what = bytes.count < expected ? "truncated" : "has trailing bytes"
            throw DatasetError(path, "IDX file \(what): \(bytes.count) bytes, header \(sizes) needs \(expected)")
        }
        return (sizes, Array(bytes[headerSize...]))
    }

    /// The largest split the converter builds in memory, in bytes.
    public static let maximumSplitBytes = 1 << 34

    public static func readImages(_ path: String) throws -> Images {
        let (sizes, data) = try readArray(path, expectedRank: 3)
        return Images(count: sizes[0], rows: sizes[1], columns: sizes[2], pixels: data)
    }

    public static func readLabels(_ path: String) throws -> [UInt8] {
        try readArray(path, expectedRank: 1).data
    }

    /// Finds "<prefix>-<kind>-idx<rank>-ubyte" (or with "." before idx), optionally ".gz".
    static func locate(_ directory: String, prefix: String, kind: String, rank: Int) -> String? {
        for separator in ["-", "."] {
            for suffix in ["", ".gz"] {
                let path = (directory as NSString).appendingPathComponent("\(prefix)-\(kind)\(separator)idx\(rank)-ubyte\(suffix)")
                if FileManager.default.fileExists(atPath: path) { return path }
            }
        }
        return nil
    }

    /// Largest accepted --pad-to: far above any IDX data set (28x28), small enough that
    /// count x padTo x padTo x channels is checked below rather than allocated blindly.
    public static let maximumPadTo = 4096

    /// Pads [rows, cols] gray images into [padTo, padTo, channels], centred, zeros around.
    static func padAndReplicate(_ images: Images, padTo: Int, channels: Int) -> [UInt8] {
        let top = (padTo - images.rows) / 2
        let left = (padTo - images.columns) / 2
        let imageSize = padTo * padTo * channels
        var output = [UInt8](repeating: 0, count: images.count * imageSize)
        output.withUnsafeMutableBufferPointer { out in
            images.pixels.withUnsafeBufferPointer { source in
                for n in 0..<images.count {
                    for y in 0..<images.rows {
                        let sourceRow = (n * images.rows + y) * images.columns
                        let outRow = n * imageSize + ((y + top) * padTo + left) * channels
                        for x in 0..<images.columns {
                            let value = source[sourceRow + x]
                            for c in 0..<channels { out[outRow + x * channels + c] = value }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Converts a directory with train-* and/or t10k-* IDX pairs into splits "train"/"test".
    public static func convert(input directory: String, options: Options = Options()) throws -> PackContents {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(directory, "not a directory (expected train-images-idx3-ubyte[.gz] and friends)")
        }
        guard (1...maximumPadTo).contains(options.padTo) else {
            throw DatasetError(directory, "pad size \(options.padTo) must be between 1 and \(maximumPadTo)")
        }
        guard (1...16).contains(options.channels) else {
            throw DatasetError(directory, "channel count \(options.channels) must be between 1 and 16")
        }
        var contents = PackContents(
            sourceFormat: formatName, sourceFiles: [],
            options: ["pad_to": String(options.padTo), "channels": String(options.channels)],
            classNames: options.classNames,
            notes: "gray images zero-padded (centred) to \(options.padTo)x\(options.padTo), replicated to \(options.channels) channels")
        for (prefix, splitName) in [("train", "train"), ("t10k", "test")] {
            let imagesPath = locate(directory, prefix: prefix, kind: "images", rank: 3)
            let labelsPath = locate(directory, prefix: prefix, kind: "labels", rank: 1)
            guard let imagesPath, let labelsPath else {
                if imagesPath != nil || labelsPath != nil {
                    throw DatasetError(directory, "found only one of \(prefix)-images / \(prefix)-labels")
                }
                continue
            }
            let images = try readImages(imagesPath)
            let labels = try readLabels(labelsPath)
            guard labels.count == images.count else {
                throw DatasetError(labelsPath, "\(labels.count) labels but \(imagesPath) has \(images.count) images")
            }
            guard images.rows >= 1, images.columns >= 1 else {
                throw DatasetError(imagesPath, "images are \(images.rows)x\(images.columns): an image needs at least one pixel")
            }
            guard images.rows <= options.padTo, images.columns <= options.padTo else {
                throw DatasetError(imagesPath, "images are \(images.rows)x\(images.columns), larger than pad target \(options.padTo)")
            }
            let (outputBytes, overflow) = images.count.multipliedReportingOverflow(by: options.padTo * options.padTo * options.channels)
            // A split is held in memory before it is written: 16 GiB is far above any IDX dataset
            // (Fashion-MNIST's train split padded to 32 x 32 x 3 is 184 MB) and below a crash.
            guard !overflow, outputBytes <= Self.maximumSplitBytes else {
                throw DatasetError(imagesPath, "\(images.count) images padded to \(options.padTo)x\(options.padTo)x\(options.channels) "
                                   + "need \(overflow ? "more bytes than can be addressed" : "\(outputBytes >> 30) GiB"), above the limit of "
                                   + "\(Self.maximumSplitBytes >> 30) GiB for one split")
            }
            if let index = labels.firstIndex(where: { Int($0) >= options.classNames.count }) {
                throw DatasetError(labelsPath, "label \(labels[index]) at index \(index) is outside 0..<\(options.classNames.count)")
            }
            var split = PackSplit(
                name: splitName, count: images.count, height: options.padTo, width: options.padTo,
                channels: options.channels, images: padAndReplicate(images, padTo: options.padTo, channels: options.channels))
            split.labels = labels.map { Int32($0) }
            contents.sourceFiles += [imagesPath, labelsPath].map { ($0 as NSString).lastPathComponent }
            contents.add(split)
        }
        guard !contents.splits.isEmpty else {
            throw DatasetError(directory, "no IDX files found (expected train-images-idx3-ubyte[.gz] or t10k-…)")
        }
        return contents
    }
}
