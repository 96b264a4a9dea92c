import Foundation

/// Builders for hand-crafted (often hostile) dataset files, used by CraftedInputTests and the
/// fuzz seed replay. Everything is written byte by byte, so no Python is needed.
enum CraftedInputs {
    // MARK: Pickle (protocol 2 opcodes, the subset PickleReader understands)

    static func pickleString(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [UInt8(ascii: "X")] + littleEndian(utf8.count, bytes: 4) + utf8
    }

    static func pickleBytes(_ data: [UInt8]) -> [UInt8] { [UInt8(ascii: "B")] + littleEndian(data.count, bytes: 4) + data }

    /// LONG1 with 8 bytes: any Int64, including ones no smaller opcode can hold.
    static func pickleInt(_ value: Int) -> [UInt8] { [0x8A, 8] + littleEndian(value, bytes: 8) }

    static func pickleGlobal(_ module: String, _ name: String) -> [UInt8] {
        [UInt8(ascii: "c")] + Array("\(module)\n\(name)\n".utf8)
    }

    /// numpy uint8 array of `shape` holding `data` (numpy's _reconstruct + BUILD).
    static func pickleArray(shape: [Int], data: [UInt8]) -> [UInt8] {
        var out = pickleGlobal("numpy.core.multiarray", "_reconstruct")
        out += [UInt8(ascii: "(")] + pickleGlobal("numpy", "ndarray") + pickleInt(0) + [0x85] + pickleBytes([0x62])
            + [UInt8(ascii: "t"), UInt8(ascii: "R")]
        out += [UInt8(ascii: "("), UInt8(ascii: "K"), 1, UInt8(ascii: "(")]
        for extent in shape { out += pickleInt(extent) }
        out += [UInt8(ascii: "t")]
        out += pickleGlobal("numpy", "dtype") + [UInt8(ascii: "(")] + pickleString("u1") + [0x89, 0x88, UInt8(ascii: "t"), UInt8(ascii: "R")]
        out += [0x89] + pickleBytes(data) + [UInt8(ascii: "t"), UInt8(ascii: "b")]
        return out
    }

    /// A CIFAR-10 python batch: {"data": uint8 [N, 3072], "labels": [..]}.
    static func cifarBatch(shape: [Int], data: [UInt8], labels: [Int]) -> [UInt8] {
        var out: [UInt8] = [0x80, 0x02, UInt8(ascii: "}"), UInt8(ascii: "(")]
        out += pickleString("data") + pickleArray(shape: shape, data: data)
        out += pickleString("labels") + [UInt8(ascii: "]"), UInt8(ascii: "(")]
        for label in labels { out += pickleInt(label) }
        out += [UInt8(ascii: "e"), UInt8(ascii: "u"), UInt8(ascii: ".")]
        return out
    }

    /// `depth` lists, each inside the previous one: [[[[...]]]].
    static func nestedListPickle(depth: Int) -> [UInt8] {
        [0x80, 0x02] + [UInt8](repeating: UInt8(ascii: "]"), count: depth) + [UInt8](repeating: UInt8(ascii: "a"), count: depth - 1)
            + [UInt8(ascii: ".")]
    }

    /// `depth` one-element tuples, each inside the next: ((((),),),).
    static func nestedTuplePickle(depth: Int) -> [UInt8] {
        [0x80, 0x02, UInt8(ascii: ")")] + [UInt8](repeating: 0x85, count: depth) + [UInt8(ascii: ".")]
    }

    /// A list put inside another, then fetched back from the memo and appended to: the way a
    /// chain deeper than any depth count could be grown behind the reader's back.
    static func mutateNestedListPickle() -> [UInt8] {
        [0x80, 0x02, UInt8(ascii: "]"), UInt8(ascii: "q"), 0, UInt8(ascii: "]"), UInt8(ascii: "q"), 1, UInt8(ascii: "a"),
         UInt8(ascii: "h"), 1, UInt8(ascii: "]"), UInt8(ascii: "a"), UInt8(ascii: ".")]
    }

    static func littleEndian(_ value: Int, bytes count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    // MARK: IDX

    static func idx(sizes: [UInt32], payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 0x08, UInt8(sizes.count)]
        for size in sizes { out += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: size >> $0) } }
        return out + payload
    }

    // MARK: Tar

    /// One tar header block; `sizeField` is written verbatim (so it can be hostile).
    static func tarHeader(name: String, sizeField: String, type: UInt8 = UInt8(ascii: "0")) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        for (k, byte) in name.utf8.prefix(100).enumerated() { block[k] = byte }
        for (k, byte) in "0000644".utf8.enumerated() { block[100 + k] = byte }
        for (k, byte) in sizeField.utf8.prefix(12).enumerated() { block[124 + k] = byte }
        block[156] = type
        for (k, byte) in "ustar".utf8.enumerated() { block[257 + k] = byte }
        return block
    }

    /// A tar of regular files, in the given order.
    static func tar(_ members: [(name: String, data: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in members {
            out += tarHeader(name: name, sizeField: String(data.count, radix: 8).leftPadded(to: 11))
            out += data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    // MARK: COCO

    static func cocoJSON(images: String = "[]", annotations: String = "[]",
                         categories: String = #"[{"id": 1, "name": "thing"}]"#) -> String {
        #"{"images": \#(images), "annotations": \#(annotations), "categories": \#(categories)}"#
    }

    /// A COCO root (annotations/instances_val.json, empty val/) holding `json`.
    static func cocoRoot(_ json: String, in directory: TestDirectory) throws -> String {
        let root = directory.path("coco")
        try FileManager.default.createDirectory(atPath: root + "/annotations", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/val", withIntermediateDirectories: true)
        try json.write(toFile: root + "/annotations/instances_val.json", atomically: false, encoding: .utf8)
        return root
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

func write(_ bytes: [UInt8], to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
