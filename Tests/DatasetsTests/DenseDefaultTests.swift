import Datasets
import Foundation
import Testing

/// The embedded dense scenes, written from a small synthetic Fashion-MNIST and packed by the
/// real `coco` and `ade20k` converters.
@Suite struct DenseDefaultTests {
    /// IDX files of 28×28 items: item k is a filled rectangle (value 120 + 6·(k mod 10) > the
    /// 48 threshold) whose width depends on k; label k mod 10. 30 train and 20 test items.
    static func writeFashionMNIST(into directory: TestDirectory) throws -> String {
        let folder = directory.path("fashion-mnist")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func bigEndian(_ value: Int) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * (3 - $0))) & 0xFF) } }
        for (prefix, count) in [("train", 30), ("t10k", 20)] {
            var images: [UInt8] = [0, 0, 8, 3] + bigEndian(count) + bigEndian(28) + bigEndian(28)
            var labels: [UInt8] = [0, 0, 8, 1] + bigEndian(count)
            for k in 0..<count {
                let inset = 2 + k % 6
                for y in 0..<28 { for x in 0..<28 { images.append(y >= 3 && y < 25 && x >= inset && x < 28 - inset ? UInt8(120 + 6 * (k % 10)) : 0) } }
                labels.append(UInt8(k % 10))
            }
            try Data(images).write(to: URL(fileURLWithPath: "\(folder)/\(prefix)-images-idx3-ubyte"))
            try Data(labels).write(to: URL(fileURLWithPath: "\(folder)/\(prefix)-labels-idx1-ubyte"))
        }
        return folder
    }

    static func options(_ scenes: DenseDefault.Scenes, seed: UInt64 = 3) -> DenseDefault.Options {
        var options = DenseDefault.Options()
        options.scenes = scenes
        options.seed = seed
        options.trainScenes = 40
        options.valScenes = 12
        return options
    }

    /// Both packs of the scenes under `root`, converted at 64 px.
    static func packs(_ root: String, _ directory: TestDirectory, tag: String) throws -> (coco: Pack, ade: Pack) {
        var cocoOptions = COCOConverter.Options()
        cocoOptions.size = 64
        var adeOptions = ADE20KConverter.Options()
        adeOptions.size = 64
        let cocoPath = directory.path("\(tag)-coco.h5"), adePath = directory.path("\(tag)-ade.h5")
        _ = try COCOConverter.convert(root: "\(root)/coco", options: cocoOptions).write(to: cocoPath)
        _ = try ADE20KConverter.convert(root: "\(root)/ade20k", options: adeOptions).write(to: adePath)
        return (try Pack(openingAt: cocoPath), try Pack(openingAt: adePath))
    }

    @Test func mosaicScenesAreGreyOnBlackWithoutOverlapAndMatchTheirLabels() throws {
        let directory = TestDirectory()
        let source = try Self.writeFashionMNIST(into: directory)
        let root = directory.path("scenes")
        try DenseDefault.writeScenes(fashionMNIST: source, to: root, options: Self.options(.mosaic))
        let (coco, ade) = try Self.packs(root, directory, tag: "mosaic")
        #expect(coco.classNames == IDXConverter.fashionMNISTClassNames && ade.classNames == coco.classNames)
        var areas: [Float] = []
        for (split, count) in [("train", 40), ("val", 12)] {
            let boxesSplit = try coco.split(split), masksSplit = try ade.split(split)
            #expect(boxesSplit.count == count && masksSplit.count == count)
            #expect(boxesSplit.height == 64 && boxesSplit.width == 64)
            let masks = masksSplit.masks!, boxes = boxesSplit.boxes!
            for image in 0..<count {
                let pixels = Array(boxesSplit.image(image))
                #expect(pixels == Array(masksSplit.image(image)), "\(split) \(image): both layouts hold the same scene")
                let mask = Array(masks[(image * 4096)..<((image + 1) * 4096)])
                let rows = Array(boxes.range(ofImage: image))
                let rectangles = rows.map { row in (0..<4).map { Int(boxes.boxes[row * 4 + $0]) } }
                for p in 0..<4096 {
                    let (y, x) = (p / 64, p % 64)
                    #expect(pixels[3 * p] == pixels[3 * p + 1] && pixels[3 * p] == pixels[3 * p + 2], "grey at \(p)")
                    #expect((mask[p] != 255) == (pixels[3 * p] > 48), "\(split) \(image): label iff item pixel at \(p)")
                    let near = rectangles.contains { x >= $0[0] - 2 && x < $0[2] + 2 && y >= $0[1] - 2 && y < $0[3] + 2 }
                    if !near { #expect(pixels[3 * p] == 0, "\(split) \(image): black away from the items at \(p)") }
                }
                for (i, row) in rows.enumerated() {
                    let r = rectangles[i]
                    areas.append(Float((r[2] - r[0]) * (r[3] - r[1])))
                    // Tight: labelled pixels of the box's class on each edge, and only that class inside.
                    let inside = (r[1]..<r[3]).flatMap { y in (r[0]..<r[2]).map { y * 64 + $0 } }
                    #expect(inside.allSatisfy { mask[$0] == 255 || Int32(mask[$0]) == boxes.classes[row] })
                    #expect(inside.contains { $0 / 64 == r[1] && mask[$0] != 255 } && inside.contains { $0 / 64 == r[3] - 1 && mask[$0] != 255 })
                    #expect(inside.contains { $0 % 64 == r[0] && mask[$0] != 255 } && inside.contains { $0 % 64 == r[2] - 1 && mask[$0] != 255 })
                    for j in rows.indices where j > i {
                        let s = rectangles[j]
                        #expect(r[2] <= s[0] || s[2] <= r[0] || r[3] <= s[1] || s[3] <= r[1], "\(split) \(image): boxes overlap")
                    }
                }
            }
        }
        // The three sizes populate the three image-relative bins (16², 32² at 64 px).
        #expect(areas.contains { $0 < 256 } && areas.contains { $0 >= 256 && $0 <= 1024 } && areas.contains { $0 > 1024 })
    }

    @Test func scenesAreDeterministicFromTheirSeed() throws {
        let directory = TestDirectory()
        let source = try Self.writeFashionMNIST(into: directory)
        var digests: [String] = []
        for (tag, seed) in [("a", UInt64(3)), ("b", UInt64(3)), ("c", UInt64(4))] {
            try DenseDefault.writeScenes(fashionMNIST: source, to: directory.path(tag), options: Self.options(.mosaic, seed: seed))
            let (coco, ade) = try Self.packs(directory.path(tag), directory, tag: tag)
            digests.append(coco.storedDigest + ade.storedDigest)
        }
        #expect(digests[0] == digests[1])
        #expect(digests[0] != digests[2])
        let first = try Data(contentsOf: URL(fileURLWithPath: directory.path("a/coco/annotations/instances_train.json")))
        let second = try Data(contentsOf: URL(fileURLWithPath: directory.path("b/coco/annotations/instances_train.json")))
        #expect(first == second)
    }

    /// Any UInt64 seed is a seed: past Int.max it is written as an unsigned number, not a trap.
    @Test func theLargestSeedWritesItsScenes() throws {
        let directory = TestDirectory()
        let source = try Self.writeFashionMNIST(into: directory)
        try DenseDefault.writeScenes(fashionMNIST: source, to: directory.path("max"), options: Self.options(.mosaic, seed: .max))
        let json = try String(contentsOfFile: directory.path("max/coco/annotations/instances_train.json"), encoding: .utf8)
        #expect(json.contains("18446744073709551615"))
    }

    @Test func texturedScenesRemainAvailableAndConvert() throws {
        let directory = TestDirectory()
        let source = try Self.writeFashionMNIST(into: directory)
        let root = directory.path("textured")
        try DenseDefault.writeScenes(fashionMNIST: source, to: root, options: Self.options(.textured))
        let (coco, ade) = try Self.packs(root, directory, tag: "textured")
        let split = try coco.split("train")
        let adeVal = try ade.split("val"), adeTrain = try ade.split("train")
        #expect(split.count == 40 && adeVal.count == 12)
        // Coloured backgrounds and tints: not grey, not black.
        let pixels = Array(split.image(0))
        #expect(stride(from: 0, to: pixels.count, by: 3).contains { pixels[$0] != pixels[$0 + 1] })
        #expect(adeTrain.masks!.contains { $0 != 255 })
        #expect(split.boxes!.classes.count > 0)
    }
}
