import Foundation
import HDF5Kit
import Testing

/// Failures a user can fix are named: the file, what is wrong, and a run-time failure exits 1
/// without the usage line that belongs to a mistyped command (exit 64).
@Suite struct ClearMessagesTests {
    func run(_ arguments: [String], in folder: String) throws -> (status: Int32, output: String) {
        try CLIFromAnyFolderTests().run(arguments, in: folder)
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func anOutThatIsAFileIsNamedAsSuch() throws {
        let folder = HarnessFixtures.temporaryDirectory("out-is-file")
        _ = FileManager.default.createFile(atPath: folder + "/taken", contents: Data("x".utf8))
        let result = try run(["pretrain", "--method", "mae", "--budget", "smoke", "--data", HarnessFixtures.pack,
                              "--out", "taken", "--progress", "quiet"], in: folder)
        #expect(result.status == 1)
        #expect(result.output.contains("taken: is a file, not a run directory"), "\(result.output)")
        #expect(!result.output.contains("NSCocoaErrorDomain"))
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func aMissingOutputFolderIsNamed() throws {
        let folder = HarnessFixtures.temporaryDirectory("missing-folder")
        let result = try run(["features", "--random-init", "--data", HarnessFixtures.pack, "--split", "train",
                              "--out", "no/such/features.h5"], in: folder)
        #expect(result.status == 1)
        #expect(result.output.contains("no/such/features.h5: cannot write: the folder no/such does not exist"), "\(result.output)")
    }

    /// A pack whose stored digest no longer matches its contents: exit 1, both digests, no usage.
    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func aDigestMismatchIsAFailureNotAUsageError() throws {
        let folder = HarnessFixtures.temporaryDirectory("digest")
        let source = try HDF5File(openingForReadAt: HarnessFixtures.pack)
        try HDF5File.writeAtomically(to: folder + "/tampered.h5") { file in
            for name in source.datasetNames() {
                switch try source.dtypeName(of: name) {
                case "uint8": let v = try source.read(name, as: UInt8.self); try file.write(v.values, shape: v.shape, to: name)
                case "int32": let v = try source.read(name, as: Int32.self); try file.write(v.values, shape: v.shape, to: name)
                case let other: Issue.record("unexpected dtype \(other) in \(name)")
                }
            }
            for attribute in try source.attributeNames() where attribute != "content_digest" {
                try file.setAttribute(attribute, try source.attribute(attribute))
            }
            try file.setAttribute("content_digest", .string(String(repeating: "0", count: 64)))
        }
        let result = try run(["inspect", "tampered.h5"], in: folder)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("tampered.h5: content digest mismatch: stored 0000"), "\(result.output)")
        #expect(!result.output.contains("Usage:"))
    }
}
