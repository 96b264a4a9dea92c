import Foundation
import HDF5Kit
import Harness
import Testing

/// A real `patchbench pretrain` process killed with SIGKILL after it wrote a checkpoint, then
/// rerun: its final encoder must be bit-identical to an uninterrupted run's.
@Suite struct KillResumeTests {
    /// The built executable: next to the test bundle, or in the package's .build/release.
    static let executable: String? = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("patchbench").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("patchbench").path,
            HarnessFixtures.root + "/.build/release/patchbench",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    func launch(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.executable!)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// MAE (stateless), DINO (EMA teacher, centre and a frozen-last-layer group in the state
    /// and optimizer), DenseCL (key encoder, two queues with their pointers, which wrap every
    /// 4 steps here), Relational and Spatial Reasoning (the relation head's BN running statistics,
    /// the authors' Adam; SR's patch placements from the masks stream) and RandSAC's blob arm (a
    /// new serialization per sample from the mask stream, hierarchical blobs): each resumes
    /// bit-identically.
    @Test(.enabled(if: executable != nil, "patchbench executable not built (swift build -c release); skipping"),
          arguments: ["mae", "dino", "densecl", "relational-reasoning", "spatial-reasoning", "randsac-blob"])
    func sigkillMidRunThenResumeIsBitIdentical(method: String) throws {
        let dir = HarnessFixtures.temporaryDirectory("kill-\(method)")
        let budget = try HarnessFixtures.budget(steps: ["mae", "randsac-blob"].contains(method) ? 400 : 150)
        try HarnessFixtures.write(budget, to: dir + "/budget.json")
        func arguments(_ out: String) -> [String] {
            ["pretrain", "--method", method, "--budget", dir + "/budget.json", "--seed", "5", "--data", HarnessFixtures.pack,
             "--out", out, "--threads", "1", "--checkpoint-every", "8", "--progress", "quiet"]
        }
        // Interrupted run: kill as soon as a checkpoint exists.
        let killed = try launch(arguments(dir + "/killed"))
        let deadline = Date().addingTimeInterval(60)
        var seen: [String] = []
        while Date() < deadline && killed.isRunning {
            seen = ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/killed/checkpoints")) ?? []).filter { $0.hasSuffix(".h5") }
            if !seen.isEmpty { break }
            usleep(2_000)
        }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(killed.terminationReason == .uncaughtSignal, "the process ended before it could be killed")
        #expect(!seen.isEmpty, "no checkpoint appeared before the deadline")
        #expect(!FileManager.default.fileExists(atPath: dir + "/killed/encoder.h5"), "killed too late: the run had finished")
        // Resume, and an uninterrupted run beside it.
        let resumed = try launch(arguments(dir + "/killed"))
        let clean = try launch(arguments(dir + "/clean"))
        resumed.waitUntilExit()
        clean.waitUntilExit()
        #expect(resumed.terminationStatus == 0 && clean.terminationStatus == 0)
        let a = try HarnessFixtures.encoderBits(dir + "/killed/encoder.h5")
        let b = try HarnessFixtures.encoderBits(dir + "/clean/encoder.h5")
        #expect(a.count > 0 && a == b, "resumed encoder differs from the uninterrupted one")
        if method.hasSuffix("-reasoning") {
            // The relation head's BN running statistics never reach the loss (training mode uses the
            // batch's), so the encoder cannot show them: compare the final checkpoints' state.
            for name in ["state/relation_module.bn1.running_mean", "state/relation_module.bn1.running_var"] {
                func bits(_ run: String) throws -> [UInt32] {
                    let file = try HDF5File(openingForReadAt: dir + "/\(run)/checkpoints/step-\(budget.totalSteps).h5")
                    defer { file.close() }
                    return try file.read(name, as: Float.self).values.map(\.bitPattern)
                }
                let (killedState, cleanState) = (try bits("killed"), try bits("clean"))
                #expect(killedState.count > 0 && killedState == cleanState, "\(name) differs after the resume")
            }
        }
        print("killed after checkpoint(s) \(seen.sorted()); resumed encoder bit-identical: \(a == b)")
    }
}
