import Foundation

/// Every failure of HDF5Kit. Each message names the file and, where there is one, the key, so
/// that a user reading it knows which input to look at without a debugger.
public enum HDF5Error: Error, CustomStringConvertible, Equatable {
    /// The path does not exist or cannot be read.
    case fileNotFound(file: String)
    /// The file exists but carries no HDF5 signature (or is empty).
    case notHDF5(file: String, detail: String)
    /// The file carries the signature but HDF5 cannot open it (truncated, corrupt superblock).
    case corrupt(file: String, detail: String)
    /// No dataset, group or attribute of that name.
    case missingKey(file: String, key: String)
    /// The stored element type is not the requested one.
    case dtypeMismatch(file: String, key: String, stored: String, requested: String)
    /// Values and shape disagree, or a stored shape is not the expected one.
    case shapeMismatch(file: String, key: String, detail: String)
    /// An HDF5 library call failed.
    case operationFailed(file: String, key: String, operation: String)
    /// Writing to disk failed (a full disk, a file-size limit): `reason` is the system's.
    case writeFailed(file: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file"
        case .notHDF5(let file, let detail):
            return "\(file): not an HDF5 file (\(detail))"
        case .corrupt(let file, let detail):
            return "\(file): HDF5 file is truncated or corrupt (\(detail))"
        case .missingKey(let file, let key):
            return "\(file): no dataset or attribute '\(key)'"
        case .dtypeMismatch(let file, let key, let stored, let requested):
            return "\(file): '\(key)' is stored as \(stored) but was read as \(requested)"
        case .shapeMismatch(let file, let key, let detail):
            return "\(file): shape mismatch for '\(key)': \(detail)"
        case .writeFailed(let file, "/", let reason):
            return "\(file): writing the file failed: \(reason); nothing was written under this name"
        case .writeFailed(let file, let key, let reason):
            return "\(file): writing '\(key)' failed: \(reason); nothing was written under this name"
        case .operationFailed(let file, "/", let operation):
            return "\(file): \(operation) failed"
        case .operationFailed(let file, let key, let operation):
            return "\(file): \(operation) failed for '\(key)'"
        }
    }
}
