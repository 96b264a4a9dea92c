import Foundation
import Testing

/// `eval` reports feature extraction and each fit of the linear probe's C sweep on stderr, and
/// `--progress quiet` silences both.
@Suite struct EvalProgressTests {
    func linear(progress: [String], in folder: String) throws -> (status: Int32, output: String) {
        try CLIFromAnyFolderTests().run(["eval", "linear", "--raw-pixels", "--data", HarnessFixtures.pack,
                                         "--train-split", "train", "--test-split", "train", "--train-limit", "64",
                                         "--test-limit", "32", "--threads", "1", "--out", "linear.json"] + progress,
                                        in: folder)
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func extractionReportsItsImages() throws {
        let folder = HarnessFixtures.temporaryDirectory("extraction-progress")
        func knn(_ progress: String) throws -> (status: Int32, output: String) {
            try CLIFromAnyFolderTests().run(["eval", "knn", "--random-init", "--encoder-config", "tiny32", "--data", HarnessFixtures.pack,
                                             "--train-split", "train", "--test-split", "train", "--train-limit", "40",
                                             "--test-limit", "24", "--threads", "1", "--out", "knn.json", "--progress", progress],
                                            in: folder)
        }
        let lines = try knn("lines")
        #expect(lines.status == 0, "\(lines.output)")
        #expect(lines.output.contains("features train: 40/40 images (100 %)"), "\(lines.output)")
        #expect(lines.output.contains("features test: 24/24 images (100 %)"), "\(lines.output)")
        let quiet = try knn("quiet")
        #expect(quiet.status == 0 && !quiet.output.contains("features train:"), "\(quiet.output)")
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func quietSilencesTheSweepLines() throws {
        let folder = HarnessFixtures.temporaryDirectory("eval-progress")
        let lines = try linear(progress: ["--progress", "lines"], in: folder)
        #expect(lines.status == 0, "\(lines.output)")
        #expect(lines.output.contains("linear: fit 1/18"), "\(lines.output)")
        let quiet = try linear(progress: ["--progress", "quiet"], in: folder)
        #expect(quiet.status == 0, "\(quiet.output)")
        #expect(!quiet.output.contains("linear: fit"), "\(quiet.output)")
        #expect(quiet.output.contains("wrote linear.json"))
        let wrong = try linear(progress: ["--progress", "loud"], in: folder)
        #expect(wrong.status == 64 && wrong.output.contains("--progress must be one of auto, bar, lines, quiet"), "\(wrong.output)")
    }

    /// `features` reports the same lines; a reused cache extracts nothing and reports nothing.
    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func featuresReportsItsImagesAndChecksNormalisation() throws {
        let folder = HarnessFixtures.temporaryDirectory("features-progress")
        let arguments = ["features", "--random-init", "--data", HarnessFixtures.pack, "--split", "train", "--threads", "1",
                         "--out", "train-cls.h5"]
        let first = try CLIFromAnyFolderTests().run(arguments + ["--progress", "lines"], in: folder)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("features train: 256/256 images (100 %)"), "\(first.output)")
        let again = try CLIFromAnyFolderTests().run(arguments + ["--progress", "lines"], in: folder)
        #expect(again.status == 0 && again.output.contains("reused train-cls.h5") && !again.output.contains("features train:"),
                "\(again.output)")
        let wrong = try CLIFromAnyFolderTests().run(arguments + ["--normalization", "per-image"], in: folder)
        #expect(wrong.status == 64 && wrong.output.contains("--normalization must be imagenet or pack-train"), "\(wrong.output)")
    }
}
