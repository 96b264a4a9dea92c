import Foundation
import SafeIO
import TensorCore

/// The embedded dense default: scenes composed from Fashion-MNIST items, written to disk in the
/// real COCO and ADE20K layouts so that the real `coco` and `ade20k` converters pack them (every
/// default reproduction runs those converters).
///
/// Two scene designs (`DenseDefault.Scenes`): `mosaic` (the default, `MosaicScene`: grey items
/// on black in 32 px cells, as the encoders see Fashion-MNIST in pretraining) and `textured`
/// (the earlier default, `TexturedScene`: tinted, shaded, overlapping items on coloured
/// gratings; kept as a harder variant). From the visible pixels of each item come its COCO
/// box, area and segmentation (the box polygon; a fraction of items are written as crowd regions
/// in uncompressed column-major RLE instead), and the ADE20K mask value class+1 (0 = background).
/// Train scenes take items from the Fashion-MNIST train split, val scenes from the test split.
/// Everything is drawn from `RandomStream`s seeded by `seed`, the design and the split name.
public enum DenseDefault {
    /// The scene design.
    public enum Scenes: String, CaseIterable, Sendable {
        case mosaic, textured
    }

    public struct Options {
        public var seed: UInt64 = 0
        public var scenes: Scenes = .mosaic
        public var trainScenes = 4000
        public var valScenes = 1000
        /// An item pixel is one whose gray value exceeds this (both designs).
        public var itemThreshold: UInt8 = 48
        public init() {}

        /// Raw scene size before the converters' crop: 64 x 64 for the mosaic (packed as is),
        /// 96 x 72 for the textured scenes (the converters take the centred 64 x 64 crop).
        public var width: Int { scenes == .mosaic ? MosaicScene.side : TexturedScene.width }
        public var height: Int { scenes == .mosaic ? MosaicScene.side : TexturedScene.height }
    }

    /// One visible object of a scene.
    struct Instance: Equatable {
        var classIndex: Int
        /// [x, y, w, h] of its visible pixels.
        var box: [Int]
        /// Number of visible pixels.
        var area: Int
        var crowd: Bool
        /// Column-major uncompressed RLE of its pixels (crowd only), starting with a run of zeros.
        var rle: [Int]
    }

    /// One composed scene.
    struct Scene {
        var pixels: [UInt8]  // [H, W, 3]
        var semantic: [UInt8]  // [H, W], 0 = background, k+1 = class k
        var instances: [Instance]
    }

    /// The instances of a scene from its owner map (`owner[p]` = item index or -1): the box,
    /// area and (for crowds) RLE of each item's visible pixels, and the semantic mask. Items
    /// with fewer than 10 visible pixels get no annotation (their pixels stay labelled).
    static func annotate(owner: [Int], classes: [Int], width w: Int, height h: Int, crowdProbability: Double,
                         rng: inout RandomStream) -> (semantic: [UInt8], instances: [Instance]) {
        precondition(owner.count == w * h, "owner map \(owner.count) values for \(w)x\(h)")
        var semantic = [UInt8](repeating: 0, count: w * h)
        var instances: [Instance] = []
        for item in classes.indices {
            var minX = w, minY = h, maxX = -1, maxY = -1, area = 0
            for y in 0..<h {
                for x in 0..<w where owner[y * w + x] == item {
                    semantic[y * w + x] = UInt8(classes[item] + 1)
                    minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                    area += 1
                }
            }
            let crowd = rng.nextDouble() < crowdProbability
            guard area >= 10 else { continue }
            var rle: [Int] = []
            if crowd {
                // Column-major runs, starting with a (possibly empty) run of zeros.
                var current = false, run = 0
                for x in 0..<w {
                    for y in 0..<h {
                        let inside = owner[y * w + x] == item
                        if inside != current { rle.append(run); run = 0; current = inside }
                        run += 1
                    }
                }
                rle.append(run)
            }
            instances.append(Instance(classIndex: classes[item], box: [minX, minY, maxX - minX + 1, maxY - minY + 1],
                                      area: area, crowd: crowd, rle: rle))
        }
        return (semantic, instances)
    }

    /// Fashion-MNIST item `index` as a 28 x 28 gray image.
    static func item(_ items: IDXConverter.Images, _ index: Int) -> DecodedImage {
        let size = items.rows * items.columns
        return DecodedImage(height: items.rows, width: items.columns, channels: 1,
                            pixels: Array(items.pixels[(index * size)..<((index + 1) * size)]))
    }

    static func compose(items: IDXConverter.Images, labels: [UInt8], options: Options, rng: inout RandomStream) -> Scene {
        switch options.scenes {
        case .mosaic: return MosaicScene.compose(items: items, labels: labels, threshold: options.itemThreshold, rng: &rng)
        case .textured: return TexturedScene.compose(items: items, labels: labels, threshold: options.itemThreshold, rng: &rng)
        }
    }

    /// The stream of one split's scenes. The textured design keeps its original seeding, so
    /// `--scenes textured` rebuilds the earlier default bit for bit.
    static func stream(seed: UInt64, scenes: Scenes, split: String) -> RandomStream {
        let name = scenes == .textured ? "dense_default/\(split)" : "dense_default/\(scenes.rawValue)/\(split)"
        return RandomStream(seed: seed ^ fnv1a64(name))
    }

    /// Writes `<output>/coco` and `<output>/ade20k`, each built in a temporary folder and
    /// renamed into place (replacing an older one).
    public static func writeScenes(fashionMNIST directory: String, to output: String, options: Options = Options()) throws {
        guard let trainImages = IDXConverter.locate(directory, prefix: "train", kind: "images", rank: 3),
              let trainLabels = IDXConverter.locate(directory, prefix: "train", kind: "labels", rank: 1),
              let testImages = IDXConverter.locate(directory, prefix: "t10k", kind: "images", rank: 3),
              let testLabels = IDXConverter.locate(directory, prefix: "t10k", kind: "labels", rank: 1) else {
            throw DatasetError(directory, "Fashion-MNIST IDX files not found (install dataset-fashion-mnist)")
        }
        let sources = [("train", "training", try IDXConverter.readImages(trainImages), try IDXConverter.readLabels(trainLabels),
                        options.trainScenes),
                       ("val", "validation", try IDXConverter.readImages(testImages), try IDXConverter.readLabels(testLabels),
                        options.valScenes)]
        for (_, _, images, _, _) in sources where images.rows != 28 || images.columns != 28 {
            throw DatasetError(directory, "Fashion-MNIST images are \(images.rows)x\(images.columns), expected 28x28")
        }
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: output, withIntermediateDirectories: true)
        // Temporary folders in AtomicFile's naming, so that a killed make-default's are removed.
        let cocoTemporary = try AtomicFile.prepareTemporary(for: (output as NSString).appendingPathComponent("coco"))
        let adeTemporary = try AtomicFile.prepareTemporary(for: (output as NSString).appendingPathComponent("ade20k"))
        defer {
            try? fileManager.removeItem(atPath: cocoTemporary)
            try? fileManager.removeItem(atPath: adeTemporary)
        }
        try? fileManager.removeItem(atPath: cocoTemporary)
        try? fileManager.removeItem(atPath: adeTemporary)
        let names = IDXConverter.fashionMNISTClassNames
        for (split, adeFolder, images, labels, count) in sources {
            let cocoImages = (cocoTemporary as NSString).appendingPathComponent(split)
            let adeImages = (adeTemporary as NSString).appendingPathComponent("images/\(adeFolder)")
            let adeMasks = (adeTemporary as NSString).appendingPathComponent("annotations/\(adeFolder)")
            for folder in [cocoImages, adeImages, adeMasks, (cocoTemporary as NSString).appendingPathComponent("annotations")] {
                try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
            var rng = stream(seed: options.seed, scenes: options.scenes, split: split)
            var imageEntries: [[String: Any]] = []
            var annotationEntries: [[String: Any]] = []
            for index in 0..<count {
                let scene = compose(items: images, labels: labels, options: options, rng: &rng)
                let imageId = index + 1
                let cocoName = String(format: "%012d.png", imageId)
                let adeName = String(format: "ADE_%@_%08d.png", split, imageId)
                let rgb = DecodedImage(height: options.height, width: options.width, channels: 3, pixels: scene.pixels)
                try ImageCodec.writePNG(rgb, to: (cocoImages as NSString).appendingPathComponent(cocoName))
                try ImageCodec.writePNG(rgb, to: (adeImages as NSString).appendingPathComponent(adeName))
                try ImageCodec.writePNG(DecodedImage(height: options.height, width: options.width, channels: 1, pixels: scene.semantic),
                                        to: (adeMasks as NSString).appendingPathComponent(adeName))
                imageEntries.append(["id": imageId, "file_name": cocoName, "width": options.width, "height": options.height])
                for instance in scene.instances {
                    let b = instance.box
                    let segmentation: Any = instance.crowd
                        ? ["counts": instance.rle, "size": [options.height, options.width]] as [String: Any]
                        : [[b[0], b[1], b[0] + b[2], b[1], b[0] + b[2], b[1] + b[3], b[0], b[1] + b[3]]]
                    annotationEntries.append([
                        "id": annotationEntries.count + 1, "image_id": imageId, "category_id": instance.classIndex + 1,
                        "bbox": b, "area": instance.area, "iscrowd": instance.crowd ? 1 : 0, "segmentation": segmentation,
                    ])
                }
            }
            let json: [String: Any] = [
                "info": ["description": "PatchBench embedded dense default (Fashion-MNIST scenes, \(options.scenes.rawValue))",
                         // Seeds past Int.max as unsigned, so no seed traps (and seed 0's file is unchanged).
                         "seed": options.seed <= UInt64(Int.max) ? Int(options.seed) as Any : NSNumber(value: options.seed)],
                "licenses": [["id": 1, "name": "MIT (Fashion-MNIST, Zalando)"]],
                "images": imageEntries, "annotations": annotationEntries,
                "categories": names.enumerated().map { ["id": $0 + 1, "name": $1, "supercategory": "fashion"] },
            ]
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            try AtomicFile.write(data, to: (cocoTemporary as NSString).appendingPathComponent("annotations/instances_\(split).json"))
        }
        let objectInfo = "Idx\tRatio\tTrain\tVal\tName\n"
            + names.enumerated().map { "\($0 + 1)\t0\t0\t0\t\($1)" }.joined(separator: "\n") + "\n"
        try AtomicFile.write(objectInfo, to: (adeTemporary as NSString).appendingPathComponent("objectInfo150.txt"))
        for (temporary, final) in [(cocoTemporary, "coco"), (adeTemporary, "ade20k")] {
            let destination = (output as NSString).appendingPathComponent(final)
            try? fileManager.removeItem(atPath: destination)
            guard rename(temporary, destination) == 0 else { throw DatasetError(destination, "rename from \(temporary) failed") }
        }
    }
}
