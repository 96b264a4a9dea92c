import Foundation

/// Writes a file through a temporary file in the same directory and a rename, so a reader never sees half a file.
public enum AtomicFileWriter {
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
            try data.write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw ResultsError("\(path): cannot rename temporary file into place: \(reason)")
            }
        } catch let error as ResultsError {
            throw error
        } catch {
            throw ResultsError("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
