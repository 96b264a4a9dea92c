import Foundation
import FuzzTargets
import Testing

/// Every committed seed (Fuzz/Corpus/<target>/, crash regressions included) goes through its
/// target's normal, uninstrumented entry point: a cheap regression test that none of them traps.
@Suite struct FuzzSeedReplayTests {
    /// The repository root, found from this file's path (Tests/FuzzSeedTests/<this file>).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test(arguments: FuzzTarget.allCases)
    func everySeedReplaysWithoutATrap(_ target: FuzzTarget) throws {
        let folder = (Self.repositoryRoot as NSString).appendingPathComponent(target.corpusFolder)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        #expect(!names.isEmpty, "\(folder) holds no seeds")
        for name in names {
            let data = try #require(FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(name)))
            target.run([UInt8](data))
        }
    }
}
