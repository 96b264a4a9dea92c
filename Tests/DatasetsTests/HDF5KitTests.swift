import Foundation
import HDF5Kit
import Testing

@Suite struct HDF5KitTests {
    /// Packs are often symbolic links into a download folder; the link's own size must not
    /// make the file look truncated.
    @Test func opensAFileThroughASymbolicLink() throws {
        let directory = TestDirectory()
        let path = directory.path("real.h5")
        try HDF5File.writeAtomically(to: path) { file in
            try file.write([Float](repeating: 1, count: 8), shape: [8], to: "values")
        }
        let link = directory.path("link.h5")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        let file = try HDF5File(openingForReadAt: link)
        #expect(try file.read("values", as: Float.self).values.count == 8)
    }

    @Test func roundtripsEveryElementTypeAndShape() throws {
        let directory = TestDirectory()
        let path = directory.path("types.h5")
        let bytes: [UInt8] = (0..<24).map { UInt8($0 * 10) }
        let ints32: [Int32] = [-7, 0, Int32.max, Int32.min, 5, 6]
        let ints64: [Int64] = [Int64.min, -1, 0, Int64.max]
        let unsigned64: [UInt64] = [0, 1, UInt64.max]
        let floats: [Float] = [1.5, -0.25, .infinity, 3e-38, 0, 7]
        let doubles: [Double] = [Double.pi, -1e300, 0.1]
        try HDF5File.writeAtomically(to: path) { file in
            try file.write(bytes, shape: [2, 3, 4], to: "bytes", chunks: [1, 3, 4], deflate: 4)
            try file.write(ints32, shape: [3, 2], to: "ints32")
            try file.write(ints64, shape: [4], to: "ints64")
            try file.write(unsigned64, shape: [3], to: "unsigned64")
            try file.write(floats, shape: [6], to: "floats", deflate: 1)
            try file.write(doubles, shape: [3, 1], to: "doubles")
            try file.write([Double(42)], shape: [], to: "scalar")
            try file.write([Float](), shape: [0, 5], to: "empty")
        }
        let file = try HDF5File(openingForReadAt: path)
        #expect(try file.read("bytes", as: UInt8.self) == (bytes, [2, 3, 4]))
        #expect(try file.read("ints32", as: Int32.self) == (ints32, [3, 2]))
        #expect(try file.read("ints64", as: Int64.self) == (ints64, [4]))
        #expect(try file.read("unsigned64", as: UInt64.self) == (unsigned64, [3]))
        #expect(try file.read("floats", as: Float.self) == (floats, [6]))
        #expect(try file.read("doubles", as: Double.self) == (doubles, [3, 1]))
        #expect(try file.read("scalar", as: Double.self) == ([42], []))
        #expect(try file.read("empty", as: Float.self) == ([], [0, 5]))
        #expect(try file.shape(of: "bytes") == [2, 3, 4])
        #expect(try file.dtypeName(of: "floats") == "float32")
        let rows = try file.readRows("bytes", range: 1..<2, as: UInt8.self)
        #expect(rows.shape == [1, 3, 4])
        #expect(rows.values == Array(bytes[12..<24]))
        #expect(throws: HDF5Error.self) { try file.readRows("bytes", range: 1..<3, as: UInt8.self) }
    }

    @Test func nestedNamesCreateGroupsAndListSorted() throws {
        let directory = TestDirectory()
        let path = directory.path("nested.h5")
        try HDF5File.writeAtomically(to: path) { file in
            try file.write([Float(1)], shape: [1], to: "opt/m/blocks.0.norm1.weight")
            try file.write([Float(2), 3], shape: [2], to: "blocks.0.attn.qkv.weight")
            try file.write([Float(4)], shape: [1], to: "opt/v/blocks.0.norm1.weight")
            try file.write([Int64(9)], shape: [], to: "opt/step")
        }
        let file = try HDF5File(openingForReadAt: path)
        #expect(file.datasetNames() == [
            "blocks.0.attn.qkv.weight", "opt/m/blocks.0.norm1.weight", "opt/step", "opt/v/blocks.0.norm1.weight",
        ])
        #expect(file.contains("opt/m"))
        #expect(file.contains("blocks.0.attn.qkv.weight"))
        #expect(!file.contains("blocks"))
        #expect(!file.contains("opt/x/y"))
        #expect(try file.read("opt/m/blocks.0.norm1.weight", as: Float.self).values == [1])
    }

    @Test func attributesOnRootAndObjects() throws {
        let directory = TestDirectory()
        let path = directory.path("attributes.h5")
        try HDF5File.writeAtomically(to: path) { file in
            try file.write([UInt8(1)], shape: [1], to: "group/data")
            try file.setAttribute("name", "fashion-mnist ✓")
            try file.setAttribute("empty", "")
            try file.setAttribute("version", Int64(3))
            try file.setAttribute("version", Int64(4))  // replaces
            try file.setAttribute("ratio", 0.75, on: "group/data")
            try file.setAttribute("shape", [Int64(2), 3], on: "group")
            try file.setAttribute("mean", [0.485, 0.456, 0.406], on: "group/data")
        }
        let file = try HDF5File(openingForReadAt: path)
        #expect(try file.stringAttribute("name") == "fashion-mnist ✓")
        #expect(try file.stringAttribute("empty") == "")
        #expect(try file.int64Attribute("version") == 4)
        #expect(try file.doubleAttribute("ratio", on: "group/data") == 0.75)
        #expect(try file.int64ArrayAttribute("shape", on: "group") == [2, 3])
        #expect(try file.doubleArrayAttribute("mean", on: "group/data") == [0.485, 0.456, 0.406])
        #expect(try file.attributeNames() == ["empty", "name", "version"])
        let error = #expect(throws: HDF5Error.self) { try file.int64Attribute("name") }
        #expect(error?.description.contains("attributes.h5") == true)
        #expect(throws: HDF5Error.missingKey(file: path, key: "/@absent")) { try file.attribute("absent") }
    }

    @Test func dtypeMismatchNamesFileKeyAndTypes() throws {
        let directory = TestDirectory()
        let path = directory.path("dtype.h5")
        try HDF5File.writeAtomically(to: path) { try $0.write([Float(1), 2], shape: [2], to: "blocks.0.weight") }
        let file = try HDF5File(openingForReadAt: path)
        let error = #expect(throws: HDF5Error.self) { try file.read("blocks.0.weight", as: Double.self) }
        let message = error?.description ?? ""
        #expect(message.contains(path))
        #expect(message.contains("blocks.0.weight"))
        #expect(message.contains("float32"))
        #expect(message.contains("float64"))
        #expect(throws: HDF5Error.self) { try file.read("blocks.0.weight", as: Int32.self) }
        let shapeError = #expect(throws: HDF5Error.self) { try file.read("blocks.0.weight", as: Float.self, shape: [3]) }
        #expect(shapeError?.description.contains("[3]") == true)
    }

    @Test func missingKeyNamesFileAndKey() throws {
        let directory = TestDirectory()
        let path = directory.path("missing.h5")
        try HDF5File.writeAtomically(to: path) { try $0.write([UInt8(1)], shape: [1], to: "a") }
        let file = try HDF5File(openingForReadAt: path)
        #expect(throws: HDF5Error.missingKey(file: path, key: "images")) { try file.read("images", as: UInt8.self) }
        #expect(throws: HDF5Error.missingKey(file: path, key: "x/y")) { try file.shape(of: "x/y") }
    }

    @Test func writeRejectsValueCountNotMatchingShape() throws {
        let directory = TestDirectory()
        let path = directory.path("bad-shape.h5")
        #expect(throws: HDF5Error.self) {
            try HDF5File.writeAtomically(to: path) { try $0.write([Float(1), 2, 3], shape: [2, 2], to: "w") }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(directory.listing().isEmpty)
    }

    @Test func truncatedFileGivesClearError() throws {
        let directory = TestDirectory()
        let path = directory.path("truncated.h5")
        try HDF5File.writeAtomically(to: path) { file in
            try file.write([Float](repeating: 1.5, count: 4096), shape: [64, 64], to: "weights")
        }
        try truncateFile(path, keepingFraction: 0.5)
        let error = #expect(throws: HDF5Error.self) {
            let file = try HDF5File(openingForReadAt: path)
            _ = try file.read("weights", as: Float.self)
        }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("truncated") == true)
    }

    @Test func nonHDF5AndMissingFilesGiveClearErrors() throws {
        let directory = TestDirectory()
        let path = directory.path("text.h5")
        try String(repeating: "not an hdf5 file\n", count: 40).write(toFile: path, atomically: false, encoding: .utf8)
        let error = #expect(throws: HDF5Error.self) { try HDF5File(openingForReadAt: path) }
        #expect(error?.description == "\(path): not an HDF5 file (no HDF5 signature)")
        let empty = directory.path("empty.h5")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: HDF5Error.notHDF5(file: empty, detail: "only 0 bytes")) { try HDF5File(openingForReadAt: empty) }
        let absent = directory.path("absent.h5")
        #expect(throws: HDF5Error.fileNotFound(file: absent)) { try HDF5File(openingForReadAt: absent) }
    }

    @Test func atomicWriteLeavesOldFileWhenBodyThrows() throws {
        struct Interrupted: Error {}
        let directory = TestDirectory()
        let path = directory.path("model.h5")
        try HDF5File.writeAtomically(to: path) { try $0.write([Int32(1), 2], shape: [2], to: "old") }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: Interrupted.self) {
            try HDF5File.writeAtomically(to: path) { file in
                try file.write([Int32(3)], shape: [1], to: "new")
                throw Interrupted()
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(directory.listing() == ["model.h5"])
        let file = try HDF5File(openingForReadAt: path)
        #expect(file.datasetNames() == ["old"])
        // A successful rewrite replaces it.
        try HDF5File.writeAtomically(to: path) { try $0.write([Int32(3)], shape: [1], to: "new") }
        #expect(try HDF5File(openingForReadAt: path).datasetNames() == ["new"])
    }

    @Test func sha256MatchesKnownVectorsAndStreams() {
        #expect(SHA256Hasher.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hasher.hex(Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let streamed = SHA256Hasher()
        streamed.update("a")
        streamed.update([UInt8(ascii: "b")])
        streamed.update("c")
        #expect(streamed.finalize() == SHA256Hasher.hex(Array("abc".utf8)))
    }
}
