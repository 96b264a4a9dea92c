import Datasets
import Foundation
import HDF5Kit
import Testing

/// Converts every committed fixture format and checks each pixel, label, box and mask against
/// the expectations the Python script computed with numpy and Pillow.
@Suite struct ConverterFixtureTests {
    /// Writes and reads back, so the checks cover the stored pack, not just memory.
    func roundtrip(_ contents: PackContents, _ directory: TestDirectory, _ name: String = "pack.h5") throws -> Pack {
        let path = directory.path(name)
        let digest = try contents.write(to: path)
        let pack = try Pack(openingAt: path)
        #expect(pack.storedDigest == digest)
        #expect(try pack.computeDigest() == digest)
        return pack
    }

    @Test func idxRawAndGzip() throws {
        let directory = TestDirectory()
        var options = IDXConverter.Options()
        options.classNames = (0..<10).map(String.init)
        let pack = try roundtrip(try IDXConverter.convert(input: Fixtures.path("idx"), options: options), directory)
        for split in ["train", "test"] {
            let expected = Fixtures.object("idx", split)
            let stored = try pack.split(split)
            #expect(stored.height == 32 && stored.width == 32 && stored.channels == 3)
            #expect(stored.images == Fixtures.bytes(expected["images"]))
            #expect(stored.labels == Fixtures.ints(expected["labels"]).map { Int32($0) })
        }
    }

    @Test func cifar10BinaryPythonAndTarAgree() throws {
        let directory = TestDirectory()
        let inputs = ["cifar10-bin", "cifar10-py", "cifar-10-binary.tar.gz"]
        var digests: [String] = []
        for (k, input) in inputs.enumerated() {
            let contents = try CIFARConverter.convert(input: Fixtures.path(input), variant: .cifar10, allowPartial: true)
            let pack = try roundtrip(contents, directory, "c\(k).h5")
            #expect(pack.classNames == (Fixtures.expectations["cifar10"] as! [String: Any])["class_names"] as! [String])
            for split in ["train", "test"] {
                let expected = Fixtures.object("cifar10", split)
                let stored = try pack.split(split)
                #expect(stored.images == Fixtures.bytes(expected["images"]), "\(input) \(split)")
                #expect(stored.labels == Fixtures.ints(expected["labels"]).map { Int32($0) })
            }
            digests.append(pack.storedDigest)
        }
        #expect(Set(digests).count == 1, "the three releases decode to the same contents")
    }

    @Test func cifar100KeepsFineAndCoarseLabels() throws {
        let directory = TestDirectory()
        for input in ["cifar100-bin", "cifar100-py"] {
            let pack = try roundtrip(try CIFARConverter.convert(input: Fixtures.path(input), variant: .cifar100), directory, "\(input).h5")
            #expect(pack.numClasses == 100)
            #expect(pack.coarseClassNames?.count == 20)
            for split in ["train", "test"] {
                let expected = Fixtures.object("cifar100", split)
                let stored = try pack.split(split)
                #expect(stored.images == Fixtures.bytes(expected["images"]))
                #expect(stored.labels == Fixtures.ints(expected["labels"]).map { Int32($0) })
                #expect(stored.coarseLabels == Fixtures.ints(expected["coarse_labels"]).map { Int32($0) })
            }
        }
    }

    @Test func cocoCropsBoxesCrowdAndEmptyImage() throws {
        let directory = TestDirectory()
        let expected = Fixtures.object("coco")
        var options = COCOConverter.Options()
        options.size = 16
        options.minVisibleFraction = (expected["min_visible_fraction"] as! NSNumber).doubleValue
        let pack = try roundtrip(try COCOConverter.convert(root: Fixtures.path("coco"), options: options), directory)
        #expect(pack.categoryIds == Fixtures.ints(expected["category_ids"]).map { Int32($0) })
        #expect(pack.classNames == expected["class_names"] as! [String])
        let split = try pack.split("val")
        let images = expected["images"] as! [[String: Any]]
        #expect(split.count == images.count)
        #expect(split.sourceIds == images.map { Int64(($0["id"] as! NSNumber).intValue) })
        var sawCrowd = false, sawEmpty = false
        for (index, image) in images.enumerated() {
            #expect(Array(split.image(index)) == Fixtures.bytes(image["pixels"]), "image \(image["id"]!)")
            let boxes = split.boxes!
            let range = boxes.range(ofImage: index)
            let expectedBoxes = image["boxes"] as! [[String: Any]]
            #expect(range.count == expectedBoxes.count, "boxes of image \(image["id"]!)")
            sawEmpty = sawEmpty || expectedBoxes.isEmpty
            for (row, box) in zip(range, expectedBoxes) {
                let coordinates = (box["box"] as! [NSNumber]).map(\.floatValue)
                for k in 0..<4 { #expect(abs(boxes.boxes[4 * row + k] - coordinates[k]) < 1e-4) }
                #expect(Int(boxes.classes[row]) == (box["class"] as! NSNumber).intValue)
                #expect(Int(boxes.crowd[row]) == (box["crowd"] as! NSNumber).intValue)
                sawCrowd = sawCrowd || boxes.crowd[row] == 1
            }
        }
        #expect(sawCrowd && sawEmpty)
    }

    @Test func ade20kCropsAndReducedMasks() throws {
        let directory = TestDirectory()
        var options = ADE20KConverter.Options()
        options.size = 16
        let pack = try roundtrip(try ADE20KConverter.convert(root: Fixtures.path("ade20k/ADEChallengeData2016"), options: options), directory)
        #expect(pack.classNames == Fixtures.object("ade20k")["class_names"] as! [String])
        for split in ["train", "val"] {
            let stored = try pack.split(split)
            let entries = Fixtures.object("ade20k")[split] as! [[String: Any]]
            #expect(stored.count == entries.count)
            for (index, entry) in entries.enumerated() {
                #expect(Array(stored.image(index)) == Fixtures.bytes(entry["pixels"]), "\(entry["stem"]!)")
                let mask = Array(stored.masks![(index * 256)..<((index + 1) * 256)])
                #expect(mask == Fixtures.bytes(entry["mask"]), "\(entry["stem"]!) mask")
            }
        }
    }

    /// TurboJPEG (flags 0) and libpng against Pillow's decode: RGB, grayscale, CMYK, PNG-as-.JPEG.
    @Test func imageDecodingMatchesPillow() throws {
        let expected = Fixtures.object("imagenet")
        for (folder, key) in [("imagenet/train", "train"), ("imagenet/val", "val")] {
            for entry in expected[key] as! [[String: Any]] {
                let file = Fixtures.path("\(folder)/\(entry["file"] as! String)")
                let image = try ImageCodec.decodeRGB(file: file)
                let shape: [Int] = [image.height, image.width, image.channels]
                #expect(shape == Fixtures.ints(entry["shape"]), "\(file)")
                #expect(image.pixels == Fixtures.bytes(entry["decoded"]), "\(file)")
            }
        }
    }
}

@Suite struct ImageNetFixtureTests {
    @Test func subsetTreeWithFlatValidationAndSolutionCSV() throws {
        let directory = TestDirectory()
        let expected = Fixtures.object("imagenet")
        var options = ImageNetConverter.Options()
        options.size = 16
        options.classes = ["n03000684", "n02979186", "n02102040", "n01440764"]  // unsorted on purpose
        let path = directory.path("in.h5")
        try ImageNetConverter.convert(root: Fixtures.path("imagenet"), options: options).write(to: path)
        let pack = try Pack(openingAt: path)
        #expect(pack.classNames == expected["classes"] as! [String])
        for key in ["train", "val"] {
            let split = try pack.split(key)
            let entries = expected[key] as! [[String: Any]]
            #expect(split.count == entries.count)
            for (index, entry) in entries.enumerated() {
                #expect(Array(split.image(index)) == Fixtures.bytes(entry["pixels"]), "\(entry["file"]!)")
                #expect(Int(split.labels![index]) == (entry["label"] as! NSNumber).intValue, "\(entry["file"]!)")
            }
        }
        options.classes = ["n09999999"]
        #expect(throws: DatasetError.self) { try ImageNetConverter.convert(root: Fixtures.path("imagenet"), options: options) }
        #expect(ImageNetConverter.imageNet100.count == 100 && Set(ImageNetConverter.imageNet100).count == 100)
    }

    /// Parts of an ImageNet tree that are missing are errors naming them, never a class silently
    /// left out of a split: an empty train class folder, and a class without its val/ folder once
    /// val/ is sorted into class folders.
    @Test func imagenetMissingPartsAreNamed() throws {
        let directory = TestDirectory()
        let root = try Fixtures.copy("imagenet", into: directory)
        var options = ImageNetConverter.Options()
        options.size = 16
        let empty = root + "/train/n09999999"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let emptyError = #expect(throws: DatasetError.self) { try ImageNetConverter.convert(root: root, options: options) }
        #expect(emptyError?.file == empty && emptyError?.problem.contains("no images") == true)
        try FileManager.default.removeItem(atPath: empty)

        let sorted = root + "/val/n01440764"
        try FileManager.default.createDirectory(atPath: sorted, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: root + "/val/ILSVRC2012_val_00000001.JPEG", toPath: sorted + "/ILSVRC2012_val_00000001.JPEG")
        let valError = #expect(throws: DatasetError.self) { try ImageNetConverter.convert(root: root, options: options) }
        #expect(valError?.file == root + "/val/n02102040", "\(String(describing: valError))")
    }
}
