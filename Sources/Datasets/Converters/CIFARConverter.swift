import Foundation

/// CIFAR-10 and CIFAR-100, binary or python release, from the unpacked folder or the .tar.gz.
///
/// Binary records: CIFAR-10 `<label><3072 pixels>` (3073 B), CIFAR-100 `<coarse><fine><3072>`
/// (3074 B); pixels are planar R, G, B planes of 32x32, stored here as HWC. Python release: a
/// pickled dict per batch (`data` uint8 [N, 3072] in the same planar order, `labels` or
/// `fine_labels`/`coarse_labels`), read with the pickle reader (no Python at run time).
/// Splits: "train" (data_batch_1..5 or train) and "test" (test_batch or test).
public enum CIFARConverter {
    public enum Variant: String { case cifar10, cifar100 }

    /// A file source: basename → bytes, from a folder or a tar archive.
    struct Source {
        let origin: String
        let files: [String: [UInt8]]
        let paths: [String: String]

        init(input: String) throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw DatasetError(input, "no such file or folder")
            }
            origin = input
            var files: [String: [UInt8]] = [:]
            var paths: [String: String] = [:]
            if isDirectory.boolValue {
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []).sorted() {
                    let path = (input as NSString).appendingPathComponent(name)
                    paths[name] = path
                }
            } else {
                // Files are looked up by basename, so two members with one basename would make
                // the pack depend on which one wins: refuse them instead.
                for member in try TarArchive.read(input) {
                    let name = (member.path as NSString).lastPathComponent
                    if let earlier = paths[name] {
                        throw DatasetError(input, "members '\(earlier.dropFirst(input.count + 1))' and '\(member.path)' share the name '\(name)'")
                    }
                    files[name] = member.contents
                    paths[name] = "\(input):\(member.path)"
                }
            }
            self.files = files
            self.paths = paths
        }

        func has(_ name: String) -> Bool { paths[name] != nil }
        func path(_ name: String) -> String { paths[name] ?? (origin as NSString).appendingPathComponent(name) }
        func bytes(_ name: String) throws -> [UInt8] {
            if let data = files[name] { return data }
            guard let path = paths[name] else { throw DatasetError(origin, "missing '\(name)'") }
            return try readFileBytes(path)
        }
        func lines(_ name: String) throws -> [String] {
            String(decoding: try bytes(name), as: UTF8.self).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    struct Batch { var pixels: [UInt8] = []; var labels: [Int32] = []; var coarse: [Int32] = [] }

    /// Planar CHW records → HWC images.
    static func planarToHWC(_ planar: ArraySlice<UInt8>, into output: inout [UInt8]) {
        let base = planar.startIndex
        for index in 0..<1024 {
            output.append(planar[base + index])
            output.append(planar[base + 1024 + index])
            output.append(planar[base + 2048 + index])
        }
    }

    static func readBinary(_ source: Source, _ name: String, variant: Variant) throws -> Batch {
        try parseBinary(try source.bytes(name), file: source.path(name), variant: variant)
    }

    static func parseBinary(_ bytes: [UInt8], file: String, variant: Variant) throws -> Batch {
        let labelBytes = variant == .cifar10 ? 1 : 2
        let recordSize = 3072 + labelBytes
        guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
            throw DatasetError(file, "\(bytes.count) bytes is not a whole number of \(recordSize)-byte records (truncated?)")
        }
        var batch = Batch()
        let count = bytes.count / recordSize
        batch.pixels.reserveCapacity(count * 3072)
        for record in 0..<count {
            let start = record * recordSize
            if variant == .cifar10 {
                batch.labels.append(Int32(bytes[start]))
            } else {
                batch.coarse.append(Int32(bytes[start]))
                batch.labels.append(Int32(bytes[start + 1]))
            }
            planarToHWC(bytes[(start + labelBytes)..<(start + recordSize)], into: &batch.pixels)
        }
        return batch
    }

    static func readPickle(_ source: Source, _ name: String, variant: Variant) throws -> Batch {
        try parsePickle(try source.bytes(name), file: source.path(name), variant: variant)
    }

    static func parsePickle(_ bytes: [UInt8], file path: String, variant: Variant) throws -> Batch {
        let root = try PickleReader.load(bytes, file: path)
        guard case .array(let data)? = root["data"], data.dtype == "u1", data.shape.count == 2, data.shape[1] == 3072,
              data.data.count == data.shape[0] * 3072, !data.fortranOrder else {
            throw DatasetError(path, "'data' must be a C-order uint8 array [N, 3072]")
        }
        let labelKey = variant == .cifar10 ? "labels" : "fine_labels"
        guard let labels = root[labelKey]?.integers, labels.count == data.shape[0] else {
            throw DatasetError(path, "'\(labelKey)' must list one integer per image")
        }
        var batch = Batch()
        batch.labels = try narrowLabels(labels, key: labelKey, file: path)
        if variant == .cifar100 {
            guard let coarse = root["coarse_labels"]?.integers, coarse.count == data.shape[0] else {
                throw DatasetError(path, "'coarse_labels' must list one integer per image")
            }
            batch.coarse = try narrowLabels(coarse, key: "coarse_labels", file: path)
        }
        batch.pixels.reserveCapacity(data.data.count)
        for record in 0..<data.shape[0] { planarToHWC(data.data[(record * 3072)..<((record + 1) * 3072)], into: &batch.pixels) }
        return batch
    }

    /// Pickled labels are arbitrary Python ints: a label such as 2^32 + 3 must be refused, not
    /// wrapped to 3. (The class-count check in `convert` then bounds them further.)
    static func narrowLabels(_ labels: [Int], key: String, file: String) throws -> [Int32] {
        try labels.enumerated().map { index, label in
            guard let narrow = Int32(exactly: label), narrow >= 0 else {
                throw DatasetError(file, "'\(key)' value \(label) of record \(index) is not a class index (negative or above Int32)")
            }
            return narrow
        }
    }

    /// Decodes one batch file held in memory (binary records or a python pickle) to HWC images
    /// and labels, with the checks `convert` applies to it; `file` names it in errors. The fuzz
    /// targets call this; `convert` reads the same way from folders and archives.
    public static func decodeBatch(_ bytes: [UInt8], file: String, variant: Variant, python: Bool)
        throws -> (images: [UInt8], labels: [Int32], coarseLabels: [Int32])
    {
        let batch = python ? try parsePickle(bytes, file: file, variant: variant) : try parseBinary(bytes, file: file, variant: variant)
        return (batch.pixels, batch.labels, batch.coarse)
    }

    static func names(fromPickle source: Source, _ file: String, key: String) throws -> [String] {
        let root = try PickleReader.load(try source.bytes(file), file: source.path(file))
        guard case .list(let list)? = root[key] else { throw DatasetError(source.path(file), "missing '\(key)' list") }
        return try list.items.map { item in
            guard let text = item.text else { throw DatasetError(source.path(file), "'\(key)' holds a non-string") }
            return text
        }
    }

    /// A split whose batch files are only partly present is an error naming the missing ones
    /// (CIFAR-10's train split is data_batch_1 … data_batch_5), unless `allowPartial`: then the
    /// files present are converted and the pack's source files list them.
    public static func convert(input: String, variant: Variant, allowPartial: Bool = false) throws -> PackContents {
        let source = try Source(input: input)
        var classNames: [String]
        var coarseNames: [String]? = nil
        var layout: [(split: String, files: [String])]
        let binary: Bool
        switch variant {
        case .cifar10:
            if source.has("batches.meta.txt") || source.has("data_batch_1.bin") {
                binary = true
                classNames = source.has("batches.meta.txt") ? try source.lines("batches.meta.txt") : []
                layout = [("train", (1...5).map { "data_batch_\($0).bin" }), ("test", ["test_batch.bin"])]
            } else if source.has("batches.meta") || source.has("data_batch_1") {
                binary = false
                classNames = source.has("batches.meta") ? try names(fromPickle: source, "batches.meta", key: "label_names") : []
                layout = [("train", (1...5).map { "data_batch_\($0)" }), ("test", ["test_batch"])]
            } else {
                throw DatasetError(input, "no CIFAR-10 batches (data_batch_1[.bin], batches.meta[.txt]) found")
            }
            if classNames.isEmpty { classNames = (0..<10).map { "class_\($0)" } }
        case .cifar100:
            if source.has("train.bin") || source.has("test.bin") {
                binary = true
                classNames = try source.lines("fine_label_names.txt")
                coarseNames = try source.lines("coarse_label_names.txt")
                layout = [("train", ["train.bin"]), ("test", ["test.bin"])]
            } else if source.has("meta") {
                binary = false
                classNames = try names(fromPickle: source, "meta", key: "fine_label_names")
                coarseNames = try names(fromPickle: source, "meta", key: "coarse_label_names")
                layout = [("train", ["train"]), ("test", ["test"])]
            } else {
                throw DatasetError(input, "no CIFAR-100 files (train.bin/test.bin or train/test/meta) found")
            }
        }
        var contents = PackContents(
            sourceFormat: "\(variant.rawValue)-\(binary ? "binary" : "python")", sourceFiles: [],
            options: [:], classNames: classNames, notes: "planar CHW records stored as HWC")
        contents.coarseClassNames = coarseNames
        for (splitName, files) in layout {
            let present = files.filter(source.has)
            if present.isEmpty { continue }
            let missing = files.filter { !present.contains($0) }
            if !missing.isEmpty && !allowPartial {
                throw DatasetError(source.path(missing[0]), "missing: the \(splitName) split is \(files.joined(separator: ", ")), "
                                   + "and \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not there "
                                   + "(--partial converts the batches present)")
            }
            var merged = Batch()
            for file in present {
                let batch = binary ? try readBinary(source, file, variant: variant) : try readPickle(source, file, variant: variant)
                if let index = batch.labels.firstIndex(where: { $0 < 0 || Int($0) >= classNames.count }) {
                    throw DatasetError(source.path(file), "label \(batch.labels[index]) of record \(index) outside 0..<\(classNames.count)")
                }
                if let coarseNames, let index = batch.coarse.firstIndex(where: { $0 < 0 || Int($0) >= coarseNames.count }) {
                    throw DatasetError(source.path(file), "coarse label \(batch.coarse[index]) of record \(index) outside 0..<\(coarseNames.count)")
                }
                merged.pixels += batch.pixels
                merged.labels += batch.labels
                merged.coarse += batch.coarse
                contents.sourceFiles.append(file)
            }
            var split = PackSplit(name: splitName, count: merged.labels.count, height: 32, width: 32, channels: 3, images: merged.pixels)
            split.labels = merged.labels
            if variant == .cifar100 { split.coarseLabels = merged.coarse }
            contents.add(split)
        }
        guard !contents.splits.isEmpty else { throw DatasetError(input, "no CIFAR batches found") }
        return contents
    }
}
