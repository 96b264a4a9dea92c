import Foundation

/// A failed file operation: the message names the file, the operation and the system's reason.
public struct SafeIOError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// "<path>: <operation> failed: <strerror(code)>", with a hint for the errors a user can fix.
    static func system(_ path: String, _ operation: String, code: Int32 = errno) -> SafeIOError {
        SafeIOError("\(path): \(operation) failed: \(reason(code, path: path))")
    }

    /// strerror(code), with a hint for the errors a user can fix.
    public static func reason(_ code: Int32, path: String) -> String {
        let text = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT: return text + " (the disk or quota is full; free space and rerun)"
        case EFBIG: return text + " (the file size limit was reached: see `ulimit -f`)"
        case ENOENT: return text + " (does the folder \((path as NSString).deletingLastPathComponent) exist?)"
        case EACCES, EROFS: return text + " (is the folder writable?)"
        default: return text
        }
    }
}
