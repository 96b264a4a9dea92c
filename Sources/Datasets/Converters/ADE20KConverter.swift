import Foundation

/// ADEChallengeData2016 (images/{training,validation}/*.jpg, annotations/…/*.png) → pack of
/// fixed-size crops with masks.
///
/// One crop per image: shorter side resized to `size` (image: Pillow-exact bilinear; mask:
/// nearest neighbour only, so no label is ever blended), then the centred size x size crop.
/// Labels follow mmseg's reduce_zero_label: 0 ("other") → 255 (ignore), 1..K → 0..K-1, with K
/// the number of rows of objectInfo150.txt (150 for ADE20K; the embedded default has its own).
/// A mask value above K, or a mask whose size differs from its image, is an error naming the file.
/// Splits: "training" → "train", "validation" → "val". Images pair with masks by file stem;
/// image files may be JPEG or PNG (sniffed).
public enum ADE20KConverter {
    public static let formatName = "ade20k"
    static let splitFolders = [("training", "train"), ("validation", "val")]

    public struct Options {
        public var size: Int = 64
        public init() {}
    }

    /// Class names from objectInfo150.txt (TAB-separated, header `Idx Ratio Train Val Name`;
    /// name = first synonym, trimmed) or, failing that, "class_1".."class_150".
    static func classNames(root: String) throws -> [String] {
        let path = (root as NSString).appendingPathComponent("objectInfo150.txt")
        guard FileManager.default.fileExists(atPath: path) else { return (1...150).map { "class_\($0)" } }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw DatasetError(path, "not UTF-8 text") }
        var rows: [(Int, String)] = []
        for (lineNumber, line) in text.split(whereSeparator: \.isNewline).enumerated() where lineNumber > 0 {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 5, let index = Int(fields[0]) else {
                throw DatasetError(path, "line \(lineNumber + 1): expected Idx, Ratio, Train, Val, Name separated by tabs")
            }
            let name = fields[4].split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            rows.append((index, name))
        }
        rows.sort { $0.0 < $1.0 }
        guard !rows.isEmpty, rows.map(\.0) == Array(1...rows.count) else {
            throw DatasetError(path, "class indices must run 1..K without gaps")
        }
        return rows.map(\.1)
    }

    public static func convert(root: String, options: Options = Options()) throws -> PackContents {
        try CropSize.validate(options.size, input: root)
        let names = try classNames(root: root)
        guard names.count < 255 else { throw DatasetError(root, "\(names.count) classes do not fit uint8 masks with 255 = ignore") }
        var contents = PackContents(
            sourceFormat: formatName, sourceFiles: [],
            options: ["size": String(options.size), "crop": "shorter_side_resize_center_crop",
                      "mask_resize": "nearest", "reduce_zero_label": "true"],
            classNames: names,
            notes: "label 0 -> 255 (ignore), 1..K -> 0..K-1; masks resized by nearest neighbour")
        for (folder, splitName) in splitFolders {
            let imageDirectory = (root as NSString).appendingPathComponent("images/\(folder)")
            let maskDirectory = (root as NSString).appendingPathComponent("annotations/\(folder)")
            guard FileManager.default.fileExists(atPath: imageDirectory) else { continue }
            let split = try convertSplit(name: splitName, imageDirectory: imageDirectory, maskDirectory: maskDirectory,
                                         numClasses: names.count, options: options)
            contents.sourceFiles += ["images/\(folder)", "annotations/\(folder)"]
            contents.add(split)
        }
        guard !contents.splits.isEmpty else { throw DatasetError(root, "no images/training or images/validation folder") }
        return contents
    }

    static func convertSplit(name: String, imageDirectory: String, maskDirectory: String, numClasses: Int,
                             options: Options) throws -> PackSplit {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: imageDirectory)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
        // Masks pair with images by stem, so a.jpg and a.png would share one mask: refuse them.
        var stems: [String: String] = [:]
        for file in files {
            let stem = (file as NSString).deletingPathExtension
            if let earlier = stems[stem] {
                throw DatasetError(imageDirectory, "images '\(earlier)' and '\(file)' share the stem '\(stem)' (one mask \(stem).png for both)")
            }
            stems[stem] = file
        }
        let size = options.size
        var pixels: [UInt8] = [], masks: [UInt8] = []
        pixels.reserveCapacity(files.count * size * size * 3)
        masks.reserveCapacity(files.count * size * size)
        var lookup = [Int](repeating: 255, count: 256)
        lookup[0] = 255
        for value in 1...numClasses { lookup[value] = value - 1 }
        for file in files {
            let imagePath = (imageDirectory as NSString).appendingPathComponent(file)
            let stem = (file as NSString).deletingPathExtension
            let maskPath = (maskDirectory as NSString).appendingPathComponent("\(stem).png")
            let image = try ImageCodec.decodeRGB(file: imagePath)
            let mask = try ImageCodec.decodeGrayPNG(file: maskPath)
            guard mask.height == image.height, mask.width == image.width else {
                throw DatasetError(maskPath, "mask is \(mask.width)x\(mask.height) but its image is \(image.width)x\(image.height)")
            }
            if let bad = mask.pixels.first(where: { Int($0) > numClasses }) {
                throw DatasetError(maskPath, "label \(bad) outside 0..\(numClasses)")
            }
            pixels.append(contentsOf: try ImageResize.resizeAndCenterCrop(image, size: size, file: imagePath).image.pixels)
            let croppedMask = try ImageResize.resizeAndCenterCrop(mask, size: size, nearestNeighbour: true, file: maskPath).image
            masks.append(contentsOf: croppedMask.pixels.map { UInt8(lookup[Int($0)]) })
        }
        var split = PackSplit(name: name, count: files.count, height: size, width: size, channels: 3, images: pixels)
        split.masks = masks
        split.sourceIds = files.map { Int64(($0 as NSString).deletingPathExtension.filter(\.isNumber)) ?? -1 }
        return split
    }
}
