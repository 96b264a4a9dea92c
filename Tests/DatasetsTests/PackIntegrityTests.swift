import Datasets
import Foundation
import HDF5Kit
import Testing

/// Digests are content-determined; bad inputs fail with errors naming the file; nothing is
/// left half-written.
@Suite struct PackIntegrityTests {
    @Test func sameInputSameDigestAndOnePixelChangesIt() throws {
        let directory = TestDirectory()
        let first = try CIFARConverter.convert(input: Fixtures.path("cifar10-bin"), variant: .cifar10, allowPartial: true).write(to: directory.path("a.h5"))
        let second = try CIFARConverter.convert(input: Fixtures.path("cifar10-bin"), variant: .cifar10, allowPartial: true).write(to: directory.path("b.h5"))
        #expect(first == second)
        let copy = try Fixtures.copy("cifar10-bin", into: directory)
        let batch = (copy as NSString).appendingPathComponent("test_batch.bin")
        var bytes = [UInt8](FileManager.default.contents(atPath: batch)!)
        bytes[3073 + 1 + 500] ^= 1  // one pixel of the second test image
        try Data(bytes).write(to: URL(fileURLWithPath: batch))
        let changed = try CIFARConverter.convert(input: copy, variant: .cifar10, allowPartial: true).write(to: directory.path("c.h5"))
        #expect(changed != first)
    }

    @Test func truncatedAndCorruptInputsNameTheFile() throws {
        let directory = TestDirectory()
        let cifar = try Fixtures.copy("cifar10-bin", into: directory)
        let batch = (cifar as NSString).appendingPathComponent("data_batch_1.bin")
        try truncateFile(batch, keepingFraction: 0.9)
        let truncated = #expect(throws: DatasetError.self) { try CIFARConverter.convert(input: cifar, variant: .cifar10, allowPartial: true) }
        #expect(truncated?.file == batch)

        let idx = try Fixtures.copy("idx", into: directory)
        let images = (idx as NSString).appendingPathComponent("train-images-idx3-ubyte")
        var bytes = [UInt8](FileManager.default.contents(atPath: images)!)
        bytes[2] = 0x0D  // element type float instead of unsigned byte
        try Data(bytes).write(to: URL(fileURLWithPath: images))
        let magic = #expect(throws: DatasetError.self) { try IDXConverter.convert(input: idx) }
        #expect(magic?.file == images)
        let gz = (idx as NSString).appendingPathComponent("t10k-images-idx3-ubyte.gz")
        try truncateFile(gz, keepingFraction: 0.5)
        #expect(throws: DatasetError.self) { _ = try IDXConverter.readImages(gz) }

        let python = try Fixtures.copy("cifar10-py", into: directory)
        let pickle = (python as NSString).appendingPathComponent("data_batch_1")
        try truncateFile(pickle, keepingFraction: 0.5)
        let pickleError = #expect(throws: DatasetError.self) { try CIFARConverter.convert(input: python, variant: .cifar10, allowPartial: true) }
        #expect(pickleError?.file == pickle)

        let coco = try Fixtures.copy("coco", into: directory)
        let json = (coco as NSString).appendingPathComponent("annotations/instances_val.json")
        try "{\"images\": [".write(toFile: json, atomically: false, encoding: .utf8)
        let jsonError = #expect(throws: DatasetError.self) { try COCOConverter.convert(root: coco) }
        #expect(jsonError?.file == json)

        let jpeg = directory.path("broken.jpg")
        let original = [UInt8](FileManager.default.contents(atPath: Fixtures.path("coco/val/000000397133.jpg"))!)
        try Data(original.prefix(original.count / 2)).write(to: URL(fileURLWithPath: jpeg))
        let jpegError = #expect(throws: DatasetError.self) { try ImageCodec.decodeRGB(file: jpeg) }
        #expect(jpegError?.file == jpeg)
    }

    /// libjpeg's recoverable warnings keep the image, as Pillow does: stray bytes before the end
    /// marker (as in some COCO 2017 files) decode to the pixels of the clean file. A truncated
    /// file stays an error (above).
    @Test func jpegWithExtraneousBytesDecodesAsPillowDoes() throws {
        let directory = TestDirectory()
        let source = Fixtures.path("coco/val/000000397133.jpg")
        let original = [UInt8](FileManager.default.contents(atPath: source)!)
        #expect(Array(original.suffix(2)) == [0xFF, 0xD9])
        let stray = directory.path("stray.jpg")
        try Data(original.dropLast(2) + [0x12, 0x34, 0x56, 0x78, 0x9A] + [0xFF, 0xD9]).write(to: URL(fileURLWithPath: stray))
        #expect(try ImageCodec.decodeRGB(file: stray).pixels == (try ImageCodec.decodeRGB(file: source)).pixels)
    }

    /// The fixtures hold data_batch_1 only: without --partial the four missing train batches are
    /// an error naming them, never a silently smaller train split.
    @Test func cifarWithMissingBatchesIsRefusedUnlessPartial() throws {
        let directory = TestDirectory()
        for fixture in ["cifar10-py", "cifar10-bin"] {
            let folder = try Fixtures.copy(fixture, into: directory)
            let error = #expect(throws: DatasetError.self) { try CIFARConverter.convert(input: folder, variant: .cifar10) }
            #expect(error?.file.hasSuffix(fixture == "cifar10-py" ? "/data_batch_2" : "/data_batch_2.bin") == true, "\(String(describing: error))")
            #expect(error?.problem.contains("data_batch_5") == true && error?.problem.contains("--partial") == true)
            let partial = try CIFARConverter.convert(input: folder, variant: .cifar10, allowPartial: true)
            #expect(partial.sourceFiles.filter { $0.hasPrefix("data_batch") }.count == 1)
        }
    }

    @Test func outOfRangeLabelsAreRejected() throws {
        let directory = TestDirectory()
        let cifar = try Fixtures.copy("cifar10-bin", into: directory)
        let batch = (cifar as NSString).appendingPathComponent("test_batch.bin")
        var bytes = [UInt8](FileManager.default.contents(atPath: batch)!)
        bytes[0] = 10
        try Data(bytes).write(to: URL(fileURLWithPath: batch))
        let error = #expect(throws: DatasetError.self) { try CIFARConverter.convert(input: cifar, variant: .cifar10, allowPartial: true) }
        #expect(error?.file == batch)
        #expect(error?.problem.contains("label 10") == true)

        let ade = try Fixtures.copy("ade20k/ADEChallengeData2016", into: directory)
        let mask = (ade as NSString).appendingPathComponent("annotations/validation/ADE_val_00000001.png")
        var pixels = [UInt8](repeating: 3, count: 18 * 18)
        pixels[40] = 200
        try ImageCodec.writePNG(DecodedImage(height: 18, width: 18, channels: 1, pixels: pixels), to: mask)
        let maskError = #expect(throws: DatasetError.self) { try ADE20KConverter.convert(root: ade) }
        #expect(maskError?.file == mask)
    }

    @Test func invalidContentsNeverLeaveAFile() throws {
        let directory = TestDirectory()
        var contents = PackContents(sourceFormat: "test", sourceFiles: [], options: [:], classNames: ["a", "b"])
        var split = PackSplit(name: "train", count: 1, height: 1, width: 1, channels: 3, images: [1, 2, 3])
        split.labels = [5]
        contents.add(split)
        let path = directory.path("bad.h5")
        #expect(throws: DatasetError.self) { try contents.write(to: path) }
        #expect(directory.listing().isEmpty)
    }

    @Test func tamperedPackFailsDigestVerification() throws {
        let directory = TestDirectory()
        let path = directory.path("p.h5")
        let contents = try CIFARConverter.convert(input: Fixtures.path("cifar10-bin"), variant: .cifar10, allowPartial: true)
        try contents.write(to: path)
        // Rewrite the pack with one label changed but the old digest attribute kept.
        let pack = try Pack(openingAt: path)
        var test = try pack.split("test")
        test.labels![0] = (test.labels![0] + 1) % 10
        let stale = pack.storedDigest
        try HDF5File.writeAtomically(to: directory.path("q.h5")) { file in
            for name in pack.file.datasetNames() where name != "test/labels" {
                switch try pack.file.dtypeName(of: name) {
                case "uint8":
                    let v = try pack.file.read(name, as: UInt8.self)
                    try file.write(v.values, shape: v.shape, to: name)
                case "int32":
                    let v = try pack.file.read(name, as: Int32.self)
                    try file.write(v.values, shape: v.shape, to: name)
                default:
                    Issue.record("unexpected dtype in \(name)")
                }
            }
            try file.write(test.labels!, shape: [test.count], to: "test/labels")
            for attribute in try pack.file.attributeNames() {
                try file.setAttribute(attribute, try pack.file.attribute(attribute))
            }
        }
        let tampered = try Pack(openingAt: directory.path("q.h5"))
        #expect(tampered.storedDigest == stale)
        #expect(try tampered.computeDigest() != stale)
    }
}
