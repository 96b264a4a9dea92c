import Foundation

/// Appends to a log file (created when missing), checking every write and the close, so a full
/// disk is reported with the file and the system's reason. A line cut by a full disk or a kill is
/// the reader's to drop (a resumed run drops a partial last line).
public enum AppendOnlyFile {
    public static func append(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SafeIOError.system(path, "open for appending") }
        var closed = false
        defer { if !closed { _ = Foundation.close(descriptor) } }
        try AtomicFile.writeAll(data, to: descriptor, reportAs: path, operation: "append")
        closed = true
        guard Foundation.close(descriptor) == 0 else { throw SafeIOError.system(path, "close") }
    }
}
