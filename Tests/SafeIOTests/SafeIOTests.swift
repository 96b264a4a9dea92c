import Foundation
import SafeIO
import Testing

@Suite struct SafeIOTests {
    static func folder(_ name: String) -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("patchbench-safeio-\(name)-\(getpid())")
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A pid that no process has: one past the kernel's maximum.
    static var deadPid: Int32 {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)) ?? "4194304"
        return (Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 4_194_304) + 1
    }

    @Test func writeReplacesTheFileAndLeavesNoTemporary() throws {
        let dir = Self.folder("write")
        let path = dir + "/a.json"
        try AtomicFile.write("one", to: path)
        try AtomicFile.write("two", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.json"])
    }

    /// What a SIGKILLed writer leaves (its pid is gone) is removed by the next write of the same
    /// file; a live process's temporary, another file's and another host's are kept.
    @Test func staleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = Self.folder("stale")
        let host = AtomicFile.host
        let dead = Self.deadPid
        let stale = [".a.h5.tmp-\(host)-\(dead)", "a.h5.tmp-\(dead)"]
        let kept = [".a.h5.tmp-\(host)-1", ".a.h5.tmp-otherhost-\(dead)", ".b.h5.tmp-\(host)-\(dead)"]
        for name in stale + kept { _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data([1])) }
        try AtomicFile.write("x", to: dir + "/a.h5")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(left == (kept + ["a.h5"]).sorted())
    }

    @Test func aMissingFolderOrAFileInItsPlaceIsNamed() throws {
        let dir = Self.folder("missing")
        #expect(throws: SafeIOError("\(dir)/no/a.json: cannot write: the folder \(dir)/no does not exist")) {
            try AtomicFile.write("x", to: dir + "/no/a.json")
        }
        _ = FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        #expect(throws: SafeIOError("\(dir)/file/a.json: cannot write: \(dir)/file is a file, not a folder")) {
            try AtomicFile.write("x", to: dir + "/file/a.json")
        }
        try AtomicFile.write("x", to: dir + "/made/here/a.json", createFolder: true)
        #expect(FileManager.default.fileExists(atPath: dir + "/made/here/a.json"))
    }

    /// flock locks belong to an open file description, so a second lock in this very process
    /// conflicts exactly as another process's would; releasing the first lets it through.
    @Test func aLockedFolderRefusesASecondLockUntilReleased() throws {
        let dir = Self.folder("lock")
        let first = try DirectoryLock(folder: dir, purpose: "testing")
        #expect(throws: SafeIOError.self) { _ = try DirectoryLock(folder: dir, purpose: "testing") }
        do {
            _ = try DirectoryLock(folder: dir, purpose: "testing")
        } catch let error as SafeIOError {
            #expect(error.description.contains("another process (host") && error.description.contains("pid \(getpid())) is testing"))
        }
        first.release()
        let second = try DirectoryLock(folder: dir, purpose: "testing")
        second.release()
    }
}
