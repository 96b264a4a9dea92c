import HDF5Kit

/// The pack manifest's content digest: SHA-256 over every dataset of the pack, taken in the
/// order of `HDF5File.datasetNames()` (full paths sorted by UTF-8 bytes). For each dataset it
/// feeds: the path's UTF-8 bytes, a 0 byte, the dtype name ("uint8", "int32", "int64",
/// "float32"), a 0 byte, the rank and each dimension as little-endian int64, then the values'
/// little-endian bytes in row-major order. Attributes (options, file names) are not contents
/// and are not hashed, so two conversions of the same data give the same digest wherever the
/// inputs lived.
public enum PackDigest {
    static func feedHeader(_ hasher: SHA256Hasher, path: String, dtype: String, shape: [Int]) {
        hasher.update(path)
        hasher.update([0])
        hasher.update(dtype)
        hasher.update([0])
        hasher.update(int64: Int64(shape.count))
        for dimension in shape { hasher.update(int64: Int64(dimension)) }
    }

    /// Digest of in-memory contents (what the writer stores).
    public static func digest(of datasets: [String: PackArray]) -> String {
        let hasher = SHA256Hasher()
        for path in datasets.keys.sorted(by: utf8Less) {
            let array = datasets[path]!
            feedHeader(hasher, path: path, dtype: array.dtypeName, shape: array.shape)
            array.withBytes { hasher.update($0) }
        }
        return hasher.finalize()
    }

    /// Digest recomputed from a stored pack, streaming large datasets in row blocks.
    public static func digest(ofFile file: HDF5File) throws -> String {
        let hasher = SHA256Hasher()
        for path in file.datasetNames() {
            let dtype = try file.dtypeName(of: path)
            let shape = try file.shape(of: path)
            feedHeader(hasher, path: path, dtype: dtype, shape: shape)
            switch dtype {
            case UInt8.hdf5TypeName: try stream(file, path, shape, UInt8.self, hasher)
            case Int32.hdf5TypeName: try stream(file, path, shape, Int32.self, hasher)
            case Int64.hdf5TypeName: try stream(file, path, shape, Int64.self, hasher)
            case Float.hdf5TypeName: try stream(file, path, shape, Float.self, hasher)
            default: throw DatasetError(file.path, "dataset '\(path)' has unsupported dtype \(dtype)")
            }
        }
        return hasher.finalize()
    }

    private static func stream<T: HDF5Element>(
        _ file: HDF5File, _ path: String, _ shape: [Int], _ type: T.Type, _ hasher: SHA256Hasher
    ) throws {
        guard let rows = shape.first else {
            hasher.update(values: try file.read(path, as: T.self).values)
            return
        }
        let rowElements = max(1, shape.dropFirst().reduce(1, *))
        let block = max(1, (8 << 20) / (rowElements * MemoryLayout<T>.stride))
        var start = 0
        while start < rows {
            let end = min(rows, start + block)
            hasher.update(values: try file.readRows(path, range: start..<end, as: T.self).values)
            start = end
        }
    }

    static func utf8Less(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }
}
