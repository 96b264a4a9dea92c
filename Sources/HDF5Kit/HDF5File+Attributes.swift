import CHDF5
import Foundation

/// An attribute value: the five kinds the packs and checkpoints need.
public enum HDF5AttributeValue: Equatable, CustomStringConvertible {
    case string(String)
    case int64(Int64)
    case double(Double)
    case int64Array([Int64])
    case doubleArray([Double])

    public var description: String {
        switch self {
        case .string(let s): return s
        case .int64(let v): return String(v)
        case .double(let v): return String(v)
        case .int64Array(let v): return "\(v)"
        case .doubleArray(let v): return "\(v)"
        }
    }
}

extension HDF5File {
    /// Sets (or replaces) attribute `name` on the object at `object` ("/" is the root group).
    /// Strings are stored as fixed-length, NUL-padded ASCII/UTF-8; numbers as int64/float64;
    /// single numbers use a scalar dataspace, arrays a rank-1 one.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue, on object: String = "/") throws {
        try requireWritable("\(object)@\(name)")
        let key = "\(object)@\(name)"
        guard contains(object) else { throw HDF5Error.missingKey(file: path, key: object) }
        if H5Aexists_by_name(fileId, object, name, h5p_default()) > 0 {
            H5Adelete_by_name(fileId, object, name, h5p_default())
        }
        switch value {
        case .string(let string):
            let bytes = Array(string.utf8)
            let type = H5Tcopy(h5_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, max(bytes.count, 1))
            H5Tset_strpad(type, H5T_STR_NULLPAD)
            let padded = bytes.isEmpty ? [UInt8(0)] : bytes
            try createAttribute(name, on: object, type: type, shape: [], key: key) { attribute in
                padded.withUnsafeBytes { H5Awrite(attribute, type, $0.baseAddress) }
            }
        case .int64(let number):
            try writeNumbers([number], scalar: true, name: name, object: object, key: key)
        case .double(let number):
            try writeNumbers([number], scalar: true, name: name, object: object, key: key)
        case .int64Array(let numbers):
            try writeNumbers(numbers, scalar: false, name: name, object: object, key: key)
        case .doubleArray(let numbers):
            try writeNumbers(numbers, scalar: false, name: name, object: object, key: key)
        }
    }

    /// Convenience setters.
    public func setAttribute(_ name: String, _ value: String, on object: String = "/") throws {
        try setAttribute(name, .string(value), on: object)
    }
    public func setAttribute(_ name: String, _ value: Int64, on object: String = "/") throws {
        try setAttribute(name, .int64(value), on: object)
    }
    public func setAttribute(_ name: String, _ value: Double, on object: String = "/") throws {
        try setAttribute(name, .double(value), on: object)
    }
    public func setAttribute(_ name: String, _ value: [Int64], on object: String = "/") throws {
        try setAttribute(name, .int64Array(value), on: object)
    }
    public func setAttribute(_ name: String, _ value: [Double], on object: String = "/") throws {
        try setAttribute(name, .doubleArray(value), on: object)
    }

    private func writeNumbers<T: HDF5Element>(
        _ numbers: [T], scalar: Bool, name: String, object: String, key: String
    ) throws {
        try createAttribute(name, on: object, type: T.hdf5NativeType, shape: scalar ? [] : [numbers.count], key: key) {
            attribute in
            numbers.isEmpty ? 0 : numbers.withUnsafeBytes { H5Awrite(attribute, T.hdf5NativeType, $0.baseAddress) }
        }
    }

    private func createAttribute(
        _ name: String, on object: String, type: hid_t, shape: [Int], key: String, write: (hid_t) -> herr_t
    ) throws {
        let space = try makeDataspace(shape: shape, key: key)
        defer { H5Sclose(space) }
        let attribute = H5Acreate_by_name(fileId, object, name, type, space, h5p_default(), h5p_default(), h5p_default())
        guard attribute >= 0 else { throw HDF5Error.operationFailed(file: path, key: key, operation: "create attribute") }
        defer { H5Aclose(attribute) }
        guard write(attribute) >= 0 else {
            throw HDF5Error.operationFailed(file: path, key: key, operation: "write attribute")
        }
    }

    /// True when the object exists and carries attribute `name`.
    public func hasAttribute(_ name: String, on object: String = "/") -> Bool {
        contains(object) && H5Aexists_by_name(fileId, object, name, h5p_default()) > 0
    }

    /// Names of all attributes of an object, sorted.
    public func attributeNames(on object: String = "/") throws -> [String] {
        guard contains(object) else { throw HDF5Error.missingKey(file: path, key: object) }
        final class Collector { var names: [String] = [] }
        let collector = Collector()
        let box = Unmanaged.passRetained(collector)
        defer { box.release() }
        H5Aiterate_by_name(fileId, object, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, data in
            guard let name, let data else { return 0 }
            Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue().names.append(String(cString: name))
            return 0
        }, box.toOpaque(), h5p_default())
        return collector.names.sorted()
    }

    /// Reads attribute `name` of `object`. Integer attributes of any width come back as
    /// `.int64`/`.int64Array`, floats as `.double`/`.doubleArray`, strings (fixed or
    /// variable length) as `.string`.
    public func attribute(_ name: String, on object: String = "/") throws -> HDF5AttributeValue {
        let key = "\(object)@\(name)"
        guard hasAttribute(name, on: object) else { throw HDF5Error.missingKey(file: path, key: key) }
        let attribute = H5Aopen_by_name(fileId, object, name, h5p_default(), h5p_default())
        guard attribute >= 0 else { throw HDF5Error.missingKey(file: path, key: key) }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        let count = Int(H5Sget_simple_extent_npoints(space))
        switch H5Tget_class(type) {
        case H5T_STRING:
            return .string(try readString(attribute, type: type, key: key))
        case H5T_INTEGER:
            var numbers = [Int64](repeating: 0, count: count)
            guard numbers.withUnsafeMutableBytes({ H5Aread(attribute, h5_native_int64(), $0.baseAddress) }) >= 0 else {
                throw HDF5Error.operationFailed(file: path, key: key, operation: "read attribute")
            }
            return rank == 0 ? .int64(numbers[0]) : .int64Array(numbers)
        case H5T_FLOAT:
            var numbers = [Double](repeating: 0, count: count)
            guard numbers.withUnsafeMutableBytes({ H5Aread(attribute, h5_native_double(), $0.baseAddress) }) >= 0 else {
                throw HDF5Error.operationFailed(file: path, key: key, operation: "read attribute")
            }
            return rank == 0 ? .double(numbers[0]) : .doubleArray(numbers)
        default:
            throw HDF5Error.dtypeMismatch(
                file: path, key: key, stored: hdf5TypeName(of: type), requested: "string, integer or float")
        }
    }

    private func readString(_ attribute: hid_t, type: hid_t, key: String) throws -> String {
        if H5Tis_variable_str(type) > 0 {
            let memoryType = H5Tcopy(h5_c_s1())
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, Int(bitPattern: UInt(bitPattern: -1)))  // H5T_VARIABLE
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attribute, memoryType, &pointer) >= 0, let pointer else {
                throw HDF5Error.operationFailed(file: path, key: key, operation: "read string attribute")
            }
            defer { H5free_memory(pointer) }
            return String(cString: pointer)
        }
        let size = H5Tget_size(type)
        var bytes = [UInt8](repeating: 0, count: size + 1)
        guard bytes.withUnsafeMutableBytes({ H5Aread(attribute, type, $0.baseAddress) }) >= 0 else {
            throw HDF5Error.operationFailed(file: path, key: key, operation: "read string attribute")
        }
        let end = bytes.firstIndex(of: 0) ?? size
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Typed getters that throw `dtypeMismatch` when the attribute has another kind.
    public func stringAttribute(_ name: String, on object: String = "/") throws -> String {
        guard case .string(let v) = try attribute(name, on: object) else { throw kindMismatch(name, object, "string") }
        return v
    }
    public func int64Attribute(_ name: String, on object: String = "/") throws -> Int64 {
        guard case .int64(let v) = try attribute(name, on: object) else { throw kindMismatch(name, object, "int64") }
        return v
    }
    public func doubleAttribute(_ name: String, on object: String = "/") throws -> Double {
        guard case .double(let v) = try attribute(name, on: object) else { throw kindMismatch(name, object, "float64") }
        return v
    }
    public func int64ArrayAttribute(_ name: String, on object: String = "/") throws -> [Int64] {
        guard case .int64Array(let v) = try attribute(name, on: object) else {
            throw kindMismatch(name, object, "int64 array")
        }
        return v
    }
    public func doubleArrayAttribute(_ name: String, on object: String = "/") throws -> [Double] {
        guard case .doubleArray(let v) = try attribute(name, on: object) else {
            throw kindMismatch(name, object, "float64 array")
        }
        return v
    }

    private func kindMismatch(_ name: String, _ object: String, _ requested: String) -> HDF5Error {
        let stored = (try? attribute(name, on: object)).map { value -> String in
            switch value {
            case .string: return "string"
            case .int64: return "int64"
            case .double: return "float64"
            case .int64Array: return "int64 array"
            case .doubleArray: return "float64 array"
            }
        } ?? "unknown"
        return .dtypeMismatch(file: path, key: "\(object)@\(name)", stored: stored, requested: requested)
    }
}
