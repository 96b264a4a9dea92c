import Foundation
import SafeIO

/// results/v<N>/ directories. Only the latest version may be rewritten; a new one is made only on request,
/// and older versions are never touched.
public enum ResultsVersioning {
    public enum Choice: Equatable, Sendable {
        /// Overwrite the latest version; an error when there is none.
        case latest
        /// Create latest + 1 (v1 when there is none).
        case new
        /// Overwrite version N, which must be the latest.
        case specific(Int)
    }

    /// <out>/<budget>: each budget's versions live apart, so one budget's run never rewrites another's.
    public static func budgetDirectory(out: String, budget: String) -> String {
        (out as NSString).appendingPathComponent(budget)
    }

    public static func existingVersions(in outDirectory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outDirectory)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("v"), let number = Int(name.dropFirst()), number > 0, "v\(number)" == name else {
                return nil
            }
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: outDirectory + "/" + name, isDirectory: &isDirectory)
            return exists && isDirectory.boolValue ? number : nil
        }.sorted()
    }

    public static func resolve(_ choice: Choice, outDirectory: String) throws -> Int {
        let latest = existingVersions(in: outDirectory).last
        switch choice {
        case .new:
            return (latest ?? 0) + 1
        case .latest:
            guard let latest else {
                throw ResultsError("\(outDirectory): no results version v<N> exists yet; pass --new-version to create v1")
            }
            return latest
        case .specific(let number):
            guard let latest else {
                throw ResultsError("\(outDirectory): no results version exists; pass --new-version to create v1")
            }
            guard number == latest else {
                throw ResultsError("\(outDirectory): --version \(number) is not the latest version (v\(latest)); "
                    + (number < latest ? "older versions are never rewritten" : "use --new-version to add one"))
            }
            return number
        }
    }

    /// Replaces outDirectory/v<N> by the given files (relative path → content) as one step: everything is written
    /// into a staging directory first, then the old version directory is moved aside and the new one renamed in.
    public static func install(files: [(path: String, content: String)], version: Int, outDirectory: String) throws {
        let fileManager = FileManager.default
        let target = outDirectory + "/v\(version)"
        let staging = outDirectory + "/.v\(version).staging"
        let retired = outDirectory + "/.v\(version).retired"
        for leftover in [staging, retired] where fileManager.fileExists(atPath: leftover) {
            try fileManager.removeItem(atPath: leftover)
        }
        for file in files {
            try AtomicFile.write(file.content, to: staging + "/" + file.path, createFolder: true)
        }
        if files.isEmpty { try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true) }
        do {
            if fileManager.fileExists(atPath: target) { try fileManager.moveItem(atPath: target, toPath: retired) }
            try fileManager.moveItem(atPath: staging, toPath: target)
            if fileManager.fileExists(atPath: retired) { try fileManager.removeItem(atPath: retired) }
        } catch {
            throw ResultsError("\(target): cannot install the new results version: \(error.localizedDescription)")
        }
    }
}
