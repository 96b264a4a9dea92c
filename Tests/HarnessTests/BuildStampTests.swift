import Checkpoint
import Foundation
import Layers
import TensorCore
import Testing

/// Files a binary writes name the source it was built from (the SourceStamp plugin), as
/// `--version` does, beside the checkout it was started in.
@Suite struct BuildStampTests {
    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func evalFilesRecordTheBuildCommit() throws {
        let folder = HarnessFixtures.temporaryDirectory("build-stamp")
        var rng = RandomStream(seed: 2)
        try Checkpoint.saveEncoder(VisionTransformer(.tiny32, rng: &rng), to: folder + "/encoder.h5")
        let cli = CLIFromAnyFolderTests()
        let version = try cli.run(["--version"], in: folder)
        #expect(version.status == 0, "\(version.output)")
        let recorded = try EvalReadoutTests().knn("encoder.h5", in: folder)
        let commit = try #require(recorded["build_commit"] as? String, "\(recorded.keys.sorted())")
        let dirty = try #require(recorded["build_dirty"] as? Bool)
        #expect(commit == "unknown" || (commit.count == 40 && commit.allSatisfy(\.isHexDigit)), "\(commit)")
        #expect(version.output.hasPrefix("patchbench \(commit.prefix(12))\(dirty ? "-dirty" : "") "), "\(version.output)")
        #expect(recorded["git_commit"] is String)
    }
}
