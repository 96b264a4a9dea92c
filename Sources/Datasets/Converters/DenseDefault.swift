import Foundation
import SafeIO
import TensorCore

/// The embedded dense default: scenes composed from Fashion-MNIST items on textured
/// backgrounds, written to disk in the real COCO and ADE20K layouts so that the real `coco`
/// and `ade20k` converters pack them (every default reproduction runs those converters).
///
/// Each scene (width x height, default 96 x 72) has a background of two random colour
/// gratings plus uniform noise, and 1–4 items (5% of scenes have none): a Fashion-MNIST image
/// scaled by 1..2 (Pillow bilinear), tinted a random colour where its gray value exceeds
/// `itemThreshold`, placed anywhere it stays at least one quarter visible; later items occlude
/// earlier ones. From the visible pixels of each item come its COCO box, area and
/// segmentation (the box polygon; 10% of items are written as crowd regions in uncompressed
/// column-major RLE instead), and the ADE20K mask value class+1 (0 = background).
/// Train scenes take items from the Fashion-MNIST train split, val scenes from the test split.
/// Everything is drawn from `RandomStream`s seeded by `seed` and the split name.
public enum DenseDefault {
    public struct Options {
        public var seed: UInt64 = 0
        public var trainScenes = 2000
        public var valScenes = 500
        public var width = 96
        public var height = 72
        public var itemThreshold: UInt8 = 48
        public init() {}
    }

    /// One composed scene.
    struct Scene {
        var pixels: [UInt8]  // [H, W, 3]
        var semantic: [UInt8]  // [H, W], 0 = background, k+1 = class k
        var instances: [(classIndex: Int, box: [Int], area: Int, crowd: Bool, rle: [Int])]
    }

    static func compose(items: IDXConverter.Images, labels: [UInt8], options: Options, rng: inout RandomStream) -> Scene {
        let w = options.width, h = options.height
        var background = [Float](repeating: 0, count: w * h * 3)
        for c in 0..<3 {
            let base = Float(rng.uniform(0.2, 0.8))
            var gratings: [(Float, Float, Float, Float)] = []
            for _ in 0..<2 {
                gratings.append((Float(rng.uniform(-0.35, 0.35)), Float(rng.uniform(-0.35, 0.35)),
                                 Float(rng.uniform(0, 2 * Double.pi)), Float(rng.uniform(0.05, 0.2))))
            }
            for y in 0..<h {
                for x in 0..<w {
                    var value = base
                    for (fx, fy, phase, amplitude) in gratings { value += amplitude * sin(fx * Float(x) + fy * Float(y) + phase) }
                    background[(y * w + x) * 3 + c] = value
                }
            }
        }
        var pixels = background.map { value -> UInt8 in UInt8(clamping: Int((min(max(value, 0), 1) * 255).rounded())) }
        for i in pixels.indices {
            let noise = rng.nextInt(below: 21) - 10
            pixels[i] = UInt8(clamping: Int(pixels[i]) + noise)
        }
        var owner = [Int](repeating: -1, count: w * h)
        let itemCount = rng.nextDouble() < 0.05 ? 0 : 1 + rng.nextInt(below: 4)
        var classes: [Int] = []
        for item in 0..<itemCount {
            let index = rng.nextInt(below: items.count)
            let side = Int((28 * rng.uniform(1.0, 2.0)).rounded())
            let source = DecodedImage(height: items.rows, width: items.columns, channels: 1,
                                      pixels: Array(items.pixels[(index * 784)..<((index + 1) * 784)]))
            let scaled = ImageResize.bilinear(source, height: side, width: side)
            let left = rng.nextInt(in: (-side / 4)...(w - 3 * side / 4))
            let top = rng.nextInt(in: (-side / 4)...(h - 3 * side / 4))
            let tint = (0..<3).map { _ in Float(rng.uniform(0.3, 1.0)) }
            classes.append(Int(labels[index]))
            for y in 0..<side {
                for x in 0..<side {
                    let value = scaled.pixels[y * side + x]
                    let sy = top + y, sx = left + x
                    guard value > options.itemThreshold, sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                    let shade = 0.35 + 0.65 * Float(value) / 255
                    for c in 0..<3 { pixels[(sy * w + sx) * 3 + c] = UInt8((tint[c] * shade * 255).rounded()) }
                    owner[sy * w + sx] = item
                }
            }
        }
        var semantic = [UInt8](repeating: 0, count: w * h)
        var instances: [(classIndex: Int, box: [Int], area: Int, crowd: Bool, rle: [Int])] = []
        for item in 0..<itemCount {
            var minX = w, minY = h, maxX = -1, maxY = -1, area = 0
            for y in 0..<h {
                for x in 0..<w where owner[y * w + x] == item {
                    semantic[y * w + x] = UInt8(classes[item] + 1)
                    minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                    area += 1
                }
            }
            let crowd = rng.nextDouble() < 0.1
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
            instances.append((classes[item], [minX, minY, maxX - minX + 1, maxY - minY + 1], area, crowd, rle))
        }
        return Scene(pixels: pixels, semantic: semantic, instances: instances)
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
            var rng = RandomStream(seed: options.seed ^ fnv1a64("dense_default/\(split)"))
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
                "info": ["description": "PatchBench embedded dense default (Fashion-MNIST scenes)", "seed": Int(options.seed)],
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
