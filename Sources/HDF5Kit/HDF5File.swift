import CHDF5
import Foundation
import SafeIO

/// An open HDF5 file: a thin, safe wrapper that owns one file id and closes it exactly once.
///
/// Writing always goes through `writeAtomically(to:_:)`, so a reader never sees a half-written
/// file: the body writes `<path>.tmp-<pid>`, which is closed, fsynced and renamed over `path`.
/// Reading opens read-only with `init(openingForReadAt:)`, after checking that the file is
/// HDF5 at all and that HDF5 can open it (a truncated file fails here, not at the first read).
///
/// Dataset and attribute paths use "/" for groups; every other character (dots included) is
/// part of a name, so "blocks.0.attn.qkv.weight" is one dataset in the root group and
/// "opt/m/blocks.0.norm1.weight" creates groups "opt" and "opt/m" on first write.
public final class HDF5File {
    /// The path shown in every error message (the final path, not the temporary one).
    public let path: String
    /// The HDF5 file id, closed by `close()` or at deinit.
    private(set) var fileId: hid_t
    public let isWritable: Bool

    private init(path: String, fileId: hid_t, isWritable: Bool) {
        self.path = path
        self.fileId = fileId
        self.isWritable = isWritable
    }

    deinit { close() }

    /// Closes the file (idempotent). `H5F_CLOSE_STRONG` makes this close any object still open,
    /// so the file is really complete on disk afterwards. Returns false when HDF5 could not write
    /// what it still held (a full disk): the file on disk is then incomplete.
    @discardableResult
    public func close() -> Bool {
        guard fileId >= 0 else { return true }
        let status = H5Fclose(fileId)
        fileId = -1
        return status >= 0
    }

    /// Opens an existing file read-only. Throws `fileNotFound`, `notHDF5` (no signature, empty)
    /// or `corrupt` (signature present but the library cannot open it, e.g. truncated).
    public convenience init(openingForReadAt path: String) throws {
        HDF5Library.silenceErrors()
        // Follow symbolic links: packs are often links into a shared download folder, and the
        // size of the link itself says nothing about the file.
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let attributes = try? FileManager.default.attributesOfItem(atPath: target)
        guard let attributes, FileManager.default.isReadableFile(atPath: path) else {
            throw HDF5Error.fileNotFound(file: path)
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        // The smallest valid HDF5 file (superblock v0 plus root group) is several hundred bytes;
        // anything under the 8-byte signature plus a minimal superblock cannot be one.
        guard size >= HDF5Library.minimumFileSize else {
            throw HDF5Error.notHDF5(file: path, detail: "only \(size) bytes")
        }
        guard H5Fis_hdf5(path) > 0 else {
            throw HDF5Error.notHDF5(file: path, detail: "no HDF5 signature")
        }
        let access = H5Pcreate(h5p_file_access())
        defer { H5Pclose(access) }
        H5Pset_fclose_degree(access, H5F_CLOSE_STRONG)
        let id = H5Fopen(path, h5f_acc_rdonly(), access)
        guard id >= 0 else {
            throw HDF5Error.corrupt(file: path, detail: "the library cannot open it; the file may be truncated")
        }
        self.init(path: path, fileId: id, isWritable: false)
    }

    /// Writes a new file at `path` atomically: `body` fills a temporary file in the same folder
    /// (`AtomicFile`'s naming; stale ones of dead processes are removed first); on success the
    /// file is flushed and closed, both checked, fsynced and renamed over `path`. If `body`
    /// throws or any step fails (a full disk included), the temporary file is removed and an
    /// existing file at `path` is left untouched.
    @discardableResult
    public static func writeAtomically<R>(to path: String, _ body: (HDF5File) throws -> R) throws -> R {
        HDF5Library.silenceErrors()
        let temporaryPath = try AtomicFile.prepareTemporary(for: path)
        let access = H5Pcreate(h5p_file_access())
        H5Pset_fclose_degree(access, H5F_CLOSE_STRONG)
        let id = H5Fcreate(temporaryPath, h5f_acc_trunc(), h5p_default(), access)
        let code = errno
        H5Pclose(access)
        guard id >= 0 else {
            unlink(temporaryPath)
            throw HDF5Error.operationFailed(file: path, key: "/", operation: "create \(temporaryPath) (\(SafeIOError.reason(code, path: temporaryPath)))")
        }
        let file = HDF5File(path: path, fileId: id, isWritable: true)
        do {
            let result = try body(file)
            // HDF5 caches chunks and metadata: a full disk often shows only here.
            errno = 0
            guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0, file.close() else {
                throw HDF5Error.writeFailed(file: path, key: "/", reason: writeFailureReason(errno))
            }
            try AtomicFile.commit(temporaryPath, to: path)
            return result
        } catch {
            file.close()
            unlink(temporaryPath)
            throw error
        }
    }

    /// Throws unless the file is open for writing.
    func requireWritable(_ key: String) throws {
        guard isWritable, fileId >= 0 else {
            throw HDF5Error.operationFailed(file: path, key: key, operation: "write (file is read-only or closed)")
        }
    }
}

/// Process-wide library settings.
enum HDF5Library {
    static let minimumFileSize = 96

    /// HDF5 prints its error stack to stderr by default; HDF5Kit reports errors itself.
    /// The auto-print setting is per thread in a thread-safe build, so it is (cheaply) reapplied
    /// on every open and create rather than once per process.
    static func silenceErrors() {
        _ = skipTermination
        h5_silence_errors()
    }

    /// HDF5 closes every file left open at process exit; a file whose close failed on a full
    /// disk makes that teardown dereference freed state and segfault after the error was
    /// reported. Every file PatchBench writes is closed explicitly, so the teardown is skipped.
    /// It must be requested before the library's first call, hence here, once.
    private static let skipTermination: Void = { _ = H5dont_atexit() }()
}
