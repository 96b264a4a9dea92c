import Foundation

/// An exclusive lock on a folder, held until `release()` or the process ends (the kernel drops
/// a `flock` when its descriptor closes, so a killed process never leaves a stale lock).
///
/// The lock file `<folder>/.lock` holds the owner's host and pid, so a refused second writer
/// can say who holds it.
public final class DirectoryLock {
    public let folder: String
    private var descriptor: Int32
    /// Why the folder could not be locked although nobody else holds it (a file system without
    /// `flock`); nil when the lock is held.
    public private(set) var unsupported: String?

    /// Locks `folder` (which must exist), or throws naming the holder when another process has it.
    public init(folder: String, purpose: String) throws {
        self.folder = folder
        let path = (folder as NSString).appendingPathComponent(".lock")
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SafeIOError.system(path, "create the lock file") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            _ = Foundation.close(descriptor)
            descriptor = -1
            // Some cluster file systems (Lustre without -o flock) have no flock: go on unlocked
            // and let the caller say so, rather than refuse every run there.
            if [ENOSYS, EOPNOTSUPP, ENOLCK].contains(code) {
                unsupported = "\(path): this file system cannot lock files (\(String(cString: strerror(code))))"
                return
            }
            guard code == EWOULDBLOCK else { throw SafeIOError.system(path, "lock", code: code) }
            throw SafeIOError("\(folder): another process (\(holder.isEmpty ? "unknown" : holder)) is \(purpose); "
                              + "wait for it to finish or choose another folder")
        }
        let owner = "host \(AtomicFile.host) pid \(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = owner.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit { release() }

    /// Releases the lock (idempotent).
    public func release() {
        if descriptor >= 0 {
            _ = Foundation.close(descriptor)
            descriptor = -1
        }
    }
}
