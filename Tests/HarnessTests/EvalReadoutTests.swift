import Checkpoint
import Foundation
import Layers
import TensorCore
import Testing

/// An encoder evaluated outside its run directory, without `--method`, is read with the readout of
/// the method `pretrain` recorded in the file, not the probe default: an RR encoder has a CLS
/// token its loss never reaches.
@Suite struct EvalReadoutTests {
    func knn(_ encoder: String, in folder: String) throws -> [String: Any] {
        let result = try CLIFromAnyFolderTests().run(["eval", "knn", "--checkpoint", encoder, "--data", HarnessFixtures.pack,
                                                      "--train-split", "train", "--test-split", "train", "--train-limit", "40",
                                                      "--test-limit", "24", "--threads", "1", "--out", "knn.json", "--progress", "quiet"],
                                                     in: folder)
        #expect(result.status == 0, "\(result.output)")
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/knn.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func theEncoderFilesMethodPicksTheReadout() throws {
        let folder = HarnessFixtures.temporaryDirectory("eval-readout")
        var rng = RandomStream(seed: 4)
        let encoder = VisionTransformer(.tiny32, rng: &rng)
        try Checkpoint.saveEncoder(encoder, to: folder + "/rr.h5", attributes: ["method": "relational-reasoning"])
        try Checkpoint.saveEncoder(encoder, to: folder + "/plain.h5")
        #expect(Checkpoint.encoderMethod(at: folder + "/rr.h5") == "relational-reasoning")
        #expect(Checkpoint.encoderMethod(at: folder + "/plain.h5") == nil)

        let recorded = try knn("rr.h5", in: folder)
        let settings = try #require(recorded["protocol"] as? [String: Any])
        let info = try #require(recorded["encoder"] as? [String: Any])
        #expect(settings["feature_kind"] as? String == "mean", "\(settings)")
        #expect((settings["readout_source"] as? String)?.contains("relational-reasoning") == true, "\(settings)")
        #expect(info["method"] as? String == "relational-reasoning", "\(info)")

        let plain = try knn("plain.h5", in: folder)
        let plainSettings = try #require(plain["protocol"] as? [String: Any])
        #expect(plainSettings["feature_kind"] as? String == "cls" && plainSettings["readout_source"] as? String == "probe default",
                "\(plainSettings)")
    }
}
