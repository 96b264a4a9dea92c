import Foundation
import SafeIO
import Testing

/// A full disk, without root: the real `patchbench` runs under a file-size limit (`ulimit -f`,
/// with SIGXFSZ ignored, so every write past the limit fails with EFBIG exactly as a full disk
/// fails with ENOSPC). Whatever point the limit hits, the final name holds the previous good
/// file or nothing, never a corrupt one; no temporary file is left; the process exits 1 with a
/// message naming the file, never with a signal. (A real full disk, for root: mount a small
/// tmpfs, Documentation/reliability.md.)
@Suite struct DiskFullTests {
    struct Outcome {
        let status: Int32
        let signalled: Bool
        let errorText: String
    }

    /// Runs patchbench with `arguments` under a limit of `kib` KiB per written file.
    static func run(_ arguments: [String], limitKiB kib: Int?, in folder: String) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        let limit = kib.map { "ulimit -f \($0); " } ?? ""
        process.arguments = ["-c", "trap '' XFSZ; \(limit)exec \"$0\" \"$@\"", KillResumeTests.executable!] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                       errorText: text)
    }

    /// Starts patchbench without a limit and returns at once (the caller waits or kills).
    static func start(_ arguments: [String], in folder: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: KillResumeTests.executable!)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func temporaries(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.contains(".tmp") }.sorted()
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func convertUnderAFullDiskKeepsThePreviousPackOrNone() throws {
        let dir = HarnessFixtures.temporaryDirectory("diskfull-convert")
        let input = HarnessFixtures.root + "/Tests/DatasetsTests/Fixtures/idx"
        let arguments = ["convert", "idx", "--input", input, "--out", "pack.h5"]
        // What a SIGKILLed convert leaves (this host, a pid that no process has) goes with the next write.
        let pidMax = Int32((try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 4_194_304
        for stale in [".pack.h5.tmp-\(AtomicFile.host)-\(pidMax + 1)", "pack.h5.tmp-\(pidMax + 1)"] {
            _ = FileManager.default.createFile(atPath: dir + "/" + stale, contents: Data(count: 4096))
        }
        // The pack of these 5 images is about 22 KiB: each limit cuts it at another point.
        for kib in [1, 2, 4, 8, 12, 16, 20] {
            try? FileManager.default.removeItem(atPath: dir + "/pack.h5")
            let failed = try Self.run(arguments, limitKiB: kib, in: dir)
            #expect(!failed.signalled && failed.status == 1, "limit \(kib) KiB: status \(failed.status), \(failed.errorText)")
            #expect(failed.errorText.contains("pack.h5: writing") && failed.errorText.contains("File too large"),
                    "limit \(kib) KiB: \(failed.errorText)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/pack.h5"), "limit \(kib) KiB left a pack under the final name")
            #expect(Self.temporaries(in: dir).isEmpty, "limit \(kib) KiB left \(Self.temporaries(in: dir))")
        }
        // With a good pack in place, a failed conversion leaves it byte for byte.
        let good = try Self.run(arguments, limitKiB: nil, in: dir)
        #expect(good.status == 0, "\(good.errorText)")
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/pack.h5"))
        let failed = try Self.run(arguments, limitKiB: 8, in: dir)
        #expect(failed.status == 1 && !failed.signalled)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/pack.h5")) == before, "the previous pack changed")
        #expect(Self.temporaries(in: dir).isEmpty)
    }

    /// A run killed after its first checkpoint, resumed on a disk too full for the next one: the
    /// resume fails cleanly, the last good checkpoint is untouched, run.json does not claim
    /// completion, and a later resume with space finishes from that checkpoint.
    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func pretrainUnderAFullDiskKeepsTheLastGoodCheckpoint() throws {
        let dir = HarnessFixtures.temporaryDirectory("diskfull-pretrain")
        let budget = try HarnessFixtures.budget(steps: 150)
        try HarnessFixtures.write(budget, to: dir + "/budget.json")
        let arguments = ["pretrain", "--method", "mae", "--budget", dir + "/budget.json", "--seed", "3", "--data", HarnessFixtures.pack,
                         "--out", "run", "--threads", "1", "--checkpoint-every", "8", "--progress", "quiet"]
        let checkpoints = dir + "/run/checkpoints"
        func present() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).filter { $0.hasSuffix(".h5") }.sorted()
        }
        let first = try Self.start(arguments, in: dir)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && first.isRunning && present().isEmpty { usleep(2_000) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let kept = present()
        try #require(kept.count == 1, "expected one checkpoint after the kill, found \(kept)")
        let keptBytes = try Data(contentsOf: URL(fileURLWithPath: checkpoints + "/" + kept[0]))
        // A checkpoint of this model is about 100 KiB; logs and run.json stay far below 32 KiB.
        let failed = try Self.run(arguments, limitKiB: 32, in: dir)
        #expect(!failed.signalled && failed.status == 1, "status \(failed.status): \(failed.errorText)")
        #expect(failed.errorText.contains("checkpoints/step-") && failed.errorText.contains("File too large"), "\(failed.errorText)")
        #expect(present() == kept, "checkpoints after the failed resume: \(present())")
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoints + "/" + kept[0])) == keptBytes)
        #expect(Self.temporaries(in: checkpoints).isEmpty && Self.temporaries(in: dir + "/run").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/run/encoder.h5"))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/run/run.json"))) as? [String: Any]
        #expect(manifest?["completed"] as? Bool == false)
        // With space again, the run resumes from the kept checkpoint and completes.
        let resumed = try Self.run(arguments, limitKiB: nil, in: dir)
        #expect(resumed.status == 0, "\(resumed.errorText)")
        #expect(FileManager.default.fileExists(atPath: dir + "/run/encoder.h5"))
    }

    /// The log fills the disk first (no checkpoint is due): the log file and the reason are named.
    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func aFullDiskWhileLoggingIsNamed() throws {
        let dir = HarnessFixtures.temporaryDirectory("diskfull-log")
        let budget = try HarnessFixtures.budget(steps: 150)
        try HarnessFixtures.write(budget, to: dir + "/budget.json")
        let failed = try Self.run(["pretrain", "--method", "mae", "--budget", dir + "/budget.json", "--data", HarnessFixtures.pack,
                                   "--out", "run", "--threads", "1", "--checkpoint-every", "1000", "--progress", "quiet"],
                                  limitKiB: 8, in: dir)
        #expect(!failed.signalled && failed.status == 1, "status \(failed.status): \(failed.errorText)")
        #expect(failed.errorText.contains("run/log.jsonl: append failed: File too large"), "\(failed.errorText)")
    }

    /// One writer per run directory: a second pretrain on a directory in use is refused at once,
    /// naming the holder, and leaves the first run's files alone.
    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func aSecondPretrainOnTheSameDirectoryIsRefused() throws {
        let dir = HarnessFixtures.temporaryDirectory("run-lock")
        let budget = try HarnessFixtures.budget(steps: 400)
        try HarnessFixtures.write(budget, to: dir + "/budget.json")
        let arguments = ["pretrain", "--method", "mae", "--budget", dir + "/budget.json", "--data", HarnessFixtures.pack,
                         "--out", "run", "--threads", "1", "--progress", "quiet"]
        let first = try Self.start(arguments, in: dir)
        defer { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() }
        // run.json is written under the lock.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && first.isRunning && !FileManager.default.fileExists(atPath: dir + "/run/run.json") { usleep(2_000) }
        try #require(first.isRunning, "the first run ended before the second could start")
        let second = try Self.run(arguments, limitKiB: nil, in: dir)
        #expect(second.status == 1 && !second.signalled)
        #expect(second.errorText.contains("run: another process (host") && second.errorText.contains("pid \(first.processIdentifier))"),
                "\(second.errorText)")
        #expect(first.isRunning, "the refused run disturbed the first one")
    }
}
