import HDF5Kit

/// One dataset of a pack held in memory: a flat row-major array with its shape and dtype.
public enum PackArray: Equatable {
    case uint8([UInt8], shape: [Int])
    case int32([Int32], shape: [Int])
    case int64([Int64], shape: [Int])
    case float32([Float], shape: [Int])

    public var shape: [Int] {
        switch self {
        case .uint8(_, let s), .int32(_, let s), .int64(_, let s), .float32(_, let s): return s
        }
    }

    /// The dtype name HDF5Kit reports for the stored dataset.
    public var dtypeName: String {
        switch self {
        case .uint8: return UInt8.hdf5TypeName
        case .int32: return Int32.hdf5TypeName
        case .int64: return Int64.hdf5TypeName
        case .float32: return Float.hdf5TypeName
        }
    }

    /// Calls `body` with the little-endian bytes of the values.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .uint8(let v, _): return try v.withUnsafeBytes(body)
        case .int32(let v, _): return try v.withUnsafeBytes(body)
        case .int64(let v, _): return try v.withUnsafeBytes(body)
        case .float32(let v, _): return try v.withUnsafeBytes(body)
        }
    }

    /// UTF-8 text lines as a uint8 dataset (class names).
    public static func lines(_ lines: [String]) -> PackArray {
        let bytes = Array(lines.joined(separator: "\n").utf8)
        return .uint8(bytes, shape: [bytes.count])
    }
}
