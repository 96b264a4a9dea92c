import Checkpoint
import Datasets
import Foundation
import Layers
import TensorCore

/// Small packs and encoders written into a fresh temporary directory, so the tests need neither
/// the default packs nor Python.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("evalcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

enum SyntheticData {
    /// A tiny encoder: 8 px images, patch 4 (2×2 grid), D 32, depth 2.
    static func config(cls: Bool = true) -> ViTConfig {
        ViTConfig(imageSize: 8, patchSize: 4, dimension: 32, depth: 2, heads: 2, clsToken: cls)
    }

    /// Images whose colour depends on the class, plus seeded noise: uint8 [count, side, side, 3].
    static func images(labels: [Int32], side: Int, rng: inout RandomStream) -> [UInt8] {
        var pixels: [UInt8] = []
        for label in labels {
            for y in 0..<side {
                for x in 0..<side {
                    for c in 0..<3 {
                        let base = (Int(label) == c ? 170 : 60) + ((x + y) % 2) * 10
                        pixels.append(UInt8(clamping: base + rng.nextInt(below: 50)))
                    }
                }
            }
        }
        return pixels
    }

    /// Classification pack: 3 classes, train 60 and test 30 images of 8×8×3.
    /// `perturb` changes one pixel, so the content digest changes; `shuffleTrainLabels` stores
    /// the train split's labels in a permuted order (the images keep their colours).
    @discardableResult
    static func classificationPack(at path: String, seed: UInt64 = 1, perturb: Bool = false,
                                   shuffleTrainLabels: Bool = false) throws -> String {
        var rng = RandomStream(seed: seed)
        var contents = PackContents(sourceFormat: "idx", sourceFiles: ["synthetic"], options: [:],
                                    classNames: ["red", "green", "blue"])
        for (name, count) in [("train", 60), ("test", 30)] {
            let labels = (0..<count).map { Int32($0 % 3) }
            var images = images(labels: labels, side: 8, rng: &rng)
            if perturb && name == "train" { images[0] = images[0] &+ 1 }
            var split = PackSplit(name: name, count: count, height: 8, width: 8, channels: 3, images: images)
            var shuffler = RandomStream(seed: seed + 100)
            split.labels = shuffleTrainLabels && name == "train" ? shuffler.permutation(count).map { labels[$0] } : labels
            contents.add(split)
        }
        return try contents.write(to: path)
    }

    /// Segmentation pack: 16×16 images split into a left half of one class and a right half of
    /// another (some pixels 255), train 24 / val 8.
    @discardableResult
    static func segmentationPack(at path: String) throws -> String {
        var rng = RandomStream(seed: 2)
        var contents = PackContents(sourceFormat: "ade20k", sourceFiles: ["synthetic"], options: [:],
                                    classNames: ["a", "b", "c"])
        for (name, count) in [("train", 24), ("val", 8)] {
            var pixels: [UInt8] = [], masks: [UInt8] = []
            for i in 0..<count {
                let left = Int32(i % 3), right = Int32((i + 1) % 3)
                for y in 0..<16 {
                    for x in 0..<16 {
                        let label = x < 8 ? left : right
                        pixels += images(labels: [label], side: 1, rng: &rng)
                        masks.append(y == 0 && x == 0 ? 255 : UInt8(label))
                    }
                }
            }
            var split = PackSplit(name: name, count: count, height: 16, width: 16, channels: 3, images: pixels)
            split.masks = masks
            contents.add(split)
        }
        return try contents.write(to: path)
    }

    /// Detection pack: 16×16 images with one bright square object (class by colour), train 24 / val 8.
    @discardableResult
    static func detectionPack(at path: String) throws -> String {
        var rng = RandomStream(seed: 3)
        var contents = PackContents(sourceFormat: "coco", sourceFiles: ["synthetic"], options: [:],
                                    classNames: ["a", "b"])
        for (name, count) in [("train", 24), ("val", 8)] {
            var pixels: [UInt8] = []
            var boxes = PackBoxes()
            for i in 0..<count {
                let label = Int32(i % 2)
                let x0 = rng.nextInt(below: 8), y0 = rng.nextInt(below: 8)
                for y in 0..<16 {
                    for x in 0..<16 {
                        let inside = x >= x0 && x < x0 + 8 && y >= y0 && y < y0 + 8
                        pixels += inside ? images(labels: [label], side: 1, rng: &rng) : [20, 20, 20]
                    }
                }
                boxes.appendImage(boxes: [[Float(x0), Float(y0), Float(x0 + 8), Float(y0 + 8)]], classes: [label],
                                  crowd: [0])
            }
            var split = PackSplit(name: name, count: count, height: 16, width: 16, channels: 3, images: pixels)
            split.boxes = boxes
            contents.add(split)
        }
        contents.categoryIds = [1, 2]
        return try contents.write(to: path)
    }

    /// Saves a seeded tiny encoder; returns it.
    @discardableResult
    static func encoder(at path: String, seed: UInt64 = 5, cls: Bool = true) throws -> VisionTransformer {
        var rng = RandomStream(seed: seed)
        let encoder = VisionTransformer(config(cls: cls), rng: &rng)
        try Checkpoint.saveEncoder(encoder, to: path)
        return encoder
    }
}
