import Foundation

/// Writes a file so that its final name only ever holds a complete file: the bytes go to a
/// temporary file in the same folder, every write, the close and the fsync are checked, and only
/// then is it renamed over the final name. A failure at any point (a full disk, a file-size
/// limit, a crash) leaves the previous file, or none, under the final name.
///
/// Temporary files are named `.<name>.tmp-<host>-<pid>`; those of processes on this host that
/// no longer exist (a SIGKILLed convert, a power cut) are removed before the next write of the
/// same file. A writer on another host sharing the folder is never touched.
public enum AtomicFile {
    /// Writes `data` to `path` atomically. With `createFolder`, missing parent folders are created.
    public static func write(_ data: Data, to path: String, createFolder: Bool = false) throws {
        if createFolder { try makeFolder(of: path) }
        let temporary = try prepareTemporary(for: path)
        do {
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw SafeIOError.system(path, "create \(temporary)") }
            var closed = false
            defer { if !closed { _ = Foundation.close(descriptor) } }
            try writeAll(data, to: descriptor, reportAs: path, operation: "write")
            closed = true
            guard Foundation.close(descriptor) == 0 else { throw SafeIOError.system(path, "close") }
            try commit(temporary, to: path)   // fsyncs it
        } catch {
            unlink(temporary)
            throw error
        }
    }

    public static func write(_ text: String, to path: String, createFolder: Bool = false) throws {
        try write(Data(text.utf8), to: path, createFolder: createFolder)
    }

    /// This process's temporary name for `path`, after removing stale temporaries of `path` and
    /// checking that the folder exists (so the error says so, not that a hidden file could not
    /// be created).
    public static func prepareTemporary(for path: String) throws -> String {
        let folder = folderOf(path)
        guard try folderExists(of: path) else { throw SafeIOError("\(path): cannot write: the folder \(folder) does not exist") }
        removeStaleTemporaries(of: path)
        return (folder as NSString).appendingPathComponent(".\(nameOf(path)).tmp-\(host)-\(getpid())")
    }

    /// Makes a finished, closed temporary file durable and renames it over `path`.
    public static func commit(_ temporary: String, to path: String) throws {
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SafeIOError.system(path, "reopen \(temporary) for fsync") }
        let synced = fsync(descriptor) == 0
        let code = errno
        _ = Foundation.close(descriptor)
        guard synced else { throw SafeIOError.system(path, "fsync", code: code) }
        guard rename(temporary, path) == 0 else { throw SafeIOError.system(path, "rename from \(temporary)") }
        // Best effort: makes the rename itself durable.
        let folder = open(folderOf(path), O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            _ = Foundation.close(folder)
        }
    }

    /// Removes `.<name>.tmp-<this host>-<pid>` (and the older `<name>.tmp-<pid>`) files or
    /// folders of `path` whose process no longer runs.
    public static func removeStaleTemporaries(of path: String) {
        let folder = folderOf(path), name = nameOf(path)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        let prefixes = [".\(name).tmp-\(host)-", "\(name).tmp-"]
        for entry in entries.sorted() {
            guard let prefix = prefixes.first(where: { entry.hasPrefix($0) }),
                  let pid = Int32(entry.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(entry))
            }
        }
    }

    /// Writes every byte of `data` to an open descriptor (retrying short and interrupted writes).
    static func writeAll(_ data: Data, to descriptor: Int32, reportAs path: String, operation: String) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SafeIOError.system(path, operation)
                }
                offset += written
            }
        }
    }

    /// Creates the folder that will hold `path` (and its parents), or says why it cannot.
    public static func makeFolder(of path: String) throws {
        let folder = folderOf(path)
        if try folderExists(of: path) { return }
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw SafeIOError("\(folder): cannot create the folder (\((error as NSError).localizedFailureReason ?? "\(error)"))")
        }
    }

    /// Whether the folder that holds `path` exists; throws when a file stands in its place.
    static func folderExists(of path: String) throws -> Bool {
        let folder = folderOf(path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else { return false }
        guard isFolder.boolValue else { throw SafeIOError("\(path): cannot write: \(folder) is a file, not a folder") }
        return true
    }

    static func folderOf(_ path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    static func nameOf(_ path: String) -> String { (path as NSString).lastPathComponent }

    /// The host name, with anything but letters, digits, '.' and '-' replaced (it is part of a file name).
    public static let host: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let name = String(cString: buffer)
        return String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
    }()
}
