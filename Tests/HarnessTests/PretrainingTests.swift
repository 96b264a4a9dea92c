import Checkpoint
import Foundation
import HDF5Kit
import Harness
import Layers
import Objectives
import Results
import TensorCore
import Testing

/// The harness in-process: run directories, resumption, refusal, non-finite stops, budgets.
@Suite struct PretrainingTests {
    func options(_ method: Method, _ budget: Budget, run: String, seed: UInt64 = 0) -> Pretraining.Options {
        Pretraining.Options(method: method, budget: budget, seed: seed, dataPath: HarnessFixtures.pack, runPath: run,
                            threads: 1, progress: .quiet)
    }

    @Test func runDirectoryFollowsTheContract() throws {
        let dir = HarnessFixtures.temporaryDirectory("contract")
        let budget = try HarnessFixtures.budget(steps: 8)
        for method in [Method.mae, .lomar] {
            let run = (dir as NSString).appendingPathComponent(method.name)
            #expect(try Pretraining(options(method, budget, run: run)).run() == .completed(resumedFrom: nil))
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as! [String: Any]
            #expect(manifest["schema"] as? String == "patchbench.run/1")
            #expect(manifest["completed"] as? Bool == true)
            #expect((manifest["config_hash"] as? String)?.count == 64)
            let provenance = manifest["provenance"] as! [String: Any]
            #expect(provenance["images_seen"] as? Int == 128)
            #expect((provenance["encoder_flops"] as? Double ?? 0) > 0)
            for key in ["git_commit", "blas", "machine", "swift", "wall_seconds", "peak_rss_mib", "threads"] {
                #expect(provenance[key] != nil, "provenance.\(key) missing")
            }
            let segments = try #require(provenance["segments"] as? [[String: Any]])
            #expect(segments.count == 1 && segments[0]["from_step"] as? Int == 0 && segments[0]["to_step"] as? Int == 8)
            #expect(segments[0]["threads"] as? Int == 1 && segments[0]["machine"] as? String == provenance["machine"] as? String)
            #expect(segments[0]["wall_seconds"] as? Double == provenance["wall_seconds"] as? Double)
            let lines = try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 8)
            let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
            for key in ["step", "images_seen", "loss", "terms", "lr", "images_per_sec", "flops"] { #expect(last[key] != nil, "log.\(key)") }
            let csv = try String(contentsOfFile: run + "/log.csv", encoding: .utf8).split(separator: "\n")
            #expect(csv.count == 1 + 8 && csv[0].hasPrefix("step,images_seen,loss,lr,images_per_sec,wall_seconds,term."))
            #expect(csv.last!.hasPrefix("8,"))
            _ = try Checkpoint.loadEncoder(from: run + "/encoder.h5")
            #expect(FileManager.default.fileExists(atPath: run + "/checkpoints/step-8.h5"))
        }
    }

    /// An objective that turns the loss into NaN from a given step on (a stand-in for a crash).
    final class FailingObjective: Objective {
        let inner: Objective
        let failAt: Int
        var calls = 0
        init(_ inner: Objective, failAt: Int) { self.inner = inner; self.failAt = failAt }
        var methodName: String { "failing-\(inner.methodName)" }
        var encoder: VisionTransformer { inner.encoder }
        func namedParameters() -> [(String, Tensor)] { inner.namedParameters() }
        func encoderExtras() -> [(String, Tensor)] { inner.encoderExtras() }
        var flopsPerImage: (encoder: Double, total: Double) { inner.flopsPerImage }
        func step(_ batch: TrainingBatch, context: StepContext, state: ObjectiveState,
                  rng: inout RandomStream) -> ObjectiveStep {
            calls += 1
            var out = inner.step(batch, context: context, state: state, rng: &rng)
            if calls >= failAt { out.loss = out.loss * Double.nan }
            return out
        }
    }

    @Test func nonFiniteLossStopsAndResumeEndsBitIdentical() throws {
        let dir = HarnessFixtures.temporaryDirectory("nonfinite")
        let budget = try HarnessFixtures.budget(steps: 12)
        for method in [Method.mae, .lomar] {
            let reference = dir + "/\(method.name)-reference", broken = dir + "/\(method.name)-broken"
            _ = try Pretraining(options(method, budget, run: reference)).run()
            var failing = options(method, budget, run: broken)
            let resolved = try method.resolve(budget)
            let make = try #require(resolved.makeObjective)
            failing.objectiveOverride = { rng in FailingObjective(make(&rng), failAt: 7) }
            do {
                _ = try Pretraining(failing).run()
                Issue.record("a NaN loss did not stop the run")
            } catch let error as HarnessError {
                #expect(error.description.contains("step 7 of failing-\(method.name)"), "\(error)")
                #expect(error.description.contains("step-4.h5"), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: broken + "/encoder.h5"))
            #expect(FileManager.default.fileExists(atPath: broken + "/checkpoints/step-4.h5"))
            // Resume with the healthy objective, on 2 threads: ends bit-identical to the
            // uninterrupted 1-thread run, and run.json keeps both segments' conditions.
            var resumed = options(method, budget, run: broken)
            resumed.threads = 2
            #expect(try Pretraining(resumed).run() == .completed(resumedFrom: 4))
            #expect(try HarnessFixtures.encoderBits(broken + "/encoder.h5") == HarnessFixtures.encoderBits(reference + "/encoder.h5"))
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: broken + "/run.json"))) as! [String: Any]
            let provenance = manifest["provenance"] as! [String: Any]
            let segments = try #require(provenance["segments"] as? [[String: Any]])
            #expect(segments.map { [$0["from_step"] as? Int, $0["to_step"] as? Int, $0["threads"] as? Int] }
                    == [[0, 4, 1], [4, 12, 2]], "\(segments)")
            let walls = segments.compactMap { $0["wall_seconds"] as? Double }
            #expect(walls.count == 2 && abs(walls.reduce(0, +) - (provenance["wall_seconds"] as! Double)) < 1e-6, "\(segments)")
            #expect(provenance["threads"] as? Int == 2)
            let logA = try String(contentsOfFile: reference + "/log.jsonl", encoding: .utf8)
            let logB = try String(contentsOfFile: broken + "/log.jsonl", encoding: .utf8)
            let losses = { (s: String) in s.split(separator: "\n").map { line in
                (try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["loss"] as! Double } }
            #expect(losses(logA) == losses(logB), "the resumed log repeats the uninterrupted losses exactly")
        }
    }

    /// A run stopped after its last checkpoint but before its encoder was written trains no step
    /// when resumed: it finishes with the segments it had, which `tables` reads.
    @Test func aRunStoppedAfterItsLastCheckpointKeepsItsSegments() throws {
        let run = HarnessFixtures.temporaryDirectory("last-checkpoint") + "/mae"
        let budget = try HarnessFixtures.budget(steps: 4)
        _ = try Pretraining(options(.mae, budget, run: run)).run()
        try FileManager.default.removeItem(atPath: run + "/encoder.h5")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as! [String: Any]
        manifest["completed"] = false
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: run + "/run.json"))
        #expect(try Pretraining(options(.mae, budget, run: run)).run() == .completed(resumedFrom: 4))
        let segments = try #require(try RunFileReader.readRun(run + "/run.json").provenance.segments)
        #expect(segments.map { [$0.fromStep, $0.toStep, $0.threads] } == [[0, 4, 1]], "\(segments)")
    }

    @Test func completedRunIsLeftAloneAndOtherConfigsAreRefused() throws {
        let run = HarnessFixtures.temporaryDirectory("complete") + "/mae"
        let budget = try HarnessFixtures.budget(steps: 4)
        _ = try Pretraining(options(.mae, budget, run: run)).run()
        let before = try FileManager.default.attributesOfItem(atPath: run + "/encoder.h5")[.modificationDate] as? Date
        #expect(try Pretraining(options(.mae, budget, run: run)).run() == .alreadyComplete)
        #expect(try FileManager.default.attributesOfItem(atPath: run + "/encoder.h5")[.modificationDate] as? Date == before)
        var other = budget
        other.optimizer.baseLearningRate *= 2
        #expect(throws: HarnessError.self) { try Pretraining(options(.mae, other, run: run)).run() }
    }

    @Test func randomInitIsTheSeedsUntrainedEncoder() throws {
        let dir = HarnessFixtures.temporaryDirectory("random")
        let budget = try HarnessFixtures.budget(steps: 4)
        _ = try Pretraining(options(.randomInit, budget, run: dir + "/a", seed: 3)).run()
        _ = try Pretraining(options(.randomInit, budget, run: dir + "/b", seed: 3)).run()
        _ = try Pretraining(options(.randomInit, budget, run: dir + "/c", seed: 4)).run()
        let a = try HarnessFixtures.encoderBits(dir + "/a/encoder.h5")
        #expect(a == (try HarnessFixtures.encoderBits(dir + "/b/encoder.h5")))
        #expect(a != (try HarnessFixtures.encoderBits(dir + "/c/encoder.h5")))
        var rng = RandomStreams(seed: 3).initialization
        let expected = VisionTransformer(try Method.randomInit.resolve(budget).encoder, rng: &rng)
        #expect(a["blocks.0.attn.qkv.weight"] == expected.blocks[0].attn.qkv.weight.floats.map(\.bitPattern))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/a/run.json"))) as! [String: Any]
        #expect((manifest["provenance"] as! [String: Any])["images_seen"] as? Int == 0)
    }

    @Test func committedBudgetsLoadAndBadOnesNameTheProblem() throws {
        for name in ["smoke", "tiny", "small", "paper"] {
            let b = try Budget.load(path: Budget.path(named: name, root: HarnessFixtures.root))
            #expect(b.name == name && b.totalSteps > 0)
        }
        let tiny = try Budget.load(path: Budget.path(named: "tiny", root: HarnessFixtures.root))
        #expect(tiny.encoder.dimension == 192 && tiny.encoder.depth == 6 && tiny.encoder.heads == 3)
        #expect(tiny.encoder.patchSize == 4 && tiny.encoder.imageSize == 32)
        let lomar = try tiny.settings(LoMaR.Config(), key: "lomar")
        #expect(lomar.windowSize == 4 && lomar.windowCount == 4)
        let dir = HarnessFixtures.temporaryDirectory("budgets")
        let text = try String(contentsOfFile: Budget.path(named: "smoke", root: HarnessFixtures.root), encoding: .utf8)
        let missing = dir + "/missing.json"
        try text.replacingOccurrences(of: "\"batch_size\"", with: "\"batch\"").write(toFile: missing, atomically: true, encoding: .utf8)
        #expect { try Budget.load(path: missing) } throws: { error in
            "\(error)".contains(missing) && "\(error)".contains("batch_size")
        }
        let truncated = dir + "/truncated.json"
        try String(text.prefix(100)).write(toFile: truncated, atomically: true, encoding: .utf8)
        #expect { try Budget.load(path: truncated) } throws: { "\($0)".contains(truncated) }
        var bad = try HarnessFixtures.budget()
        bad.imagesSeen = 17
        let badPath = dir + "/bad.json"
        try HarnessFixtures.write(bad, to: badPath)
        #expect { try Budget.load(path: badPath) } throws: { "\($0)".contains("multiple of batch_size") }
    }
}

@Suite struct RunDirectoryTests {
    @Test func truncatedLogDropsLaterStepsAndAPartialLastLine() throws {
        let dir = RunDirectory(path: HarnessFixtures.temporaryDirectory("log"))
        try dir.create()
        for step in 1...5 { try dir.appendLog(["step": step, "loss": Double(step)]) }
        let handle = FileHandle(forWritingAtPath: dir.log)!
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"step\": 6, \"lo".utf8))
        try handle.close()
        try dir.truncateLog(after: 3)
        let steps = try String(contentsOfFile: dir.log, encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["step"] as! Int
        }
        #expect(steps == [1, 2, 3])
        // log.csv follows log.jsonl, also through the truncation.
        let csv = try String(contentsOfFile: dir.csvLog, encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "step,images_seen,loss,lr,images_per_sec,wall_seconds" && csv.count == 4)
        #expect(csv.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).first! } == ["1", "2", "3"])
        try "{\"step\": 1}\nnot json\n{\"step\": 2}\n".write(toFile: dir.log, atomically: true, encoding: .utf8)
        #expect { try dir.truncateLog(after: 5) } throws: { "\($0)".contains("line 2") && "\($0)".contains(dir.log) }
    }
}

/// DINO in the harness: the head's last layer does not move during epoch 0 and does after it;
/// the exported encoder is the teacher; the state round-trips through a checkpoint.
@Suite struct DINOHarnessTests {
    @Test func lastLayerIsFrozenDuringTheFirstEpochAndTheTeacherIsExported() throws {
        let dir = HarnessFixtures.temporaryDirectory("dino-frozen")
        var budget = try HarnessFixtures.budget(steps: 16)   // 256 images / 16 = 16 steps per epoch
        budget.checkpointEvery = 16
        let options = { (run: String) in
            Pretraining.Options(method: .dino, budget: budget, seed: 2, dataPath: HarnessFixtures.pack, runPath: run,
                                threads: 1, progress: .quiet)
        }
        #expect(try Pretraining(options(dir + "/epoch0")).run() == .completed(resumedFrom: nil))
        var streams = RandomStreams(seed: 2)
        let resolved = try Method.dino.resolve(budget)
        let make = try #require(resolved.makeObjective)
        let initial = make(&streams.initialization)
        let initialValues = Dictionary(uniqueKeysWithValues: initial.namedParameters().map { ($0.0, $0.1.floats) })
        let file = try HDF5File(openingForReadAt: dir + "/epoch0/checkpoints/step-16.h5")
        defer { file.close() }
        let lastLayer = try file.read("model/head.last_layer.weight_v", as: Float.self).values
        #expect(lastLayer == initialValues["head.last_layer.weight_v"]!, "the last layer moved during epoch 0")
        let mlp = try file.read("model/head.mlp.0.weight", as: Float.self).values
        #expect(mlp != initialValues["head.mlp.0.weight"]!, "the rest of the head trains")
        // The state: teacher tensors and the centre are in the checkpoint, and the exported
        // encoder is the teacher's backbone.
        let teacherNorm = try file.read("state/teacher.backbone.norm.weight", as: Float.self).values
        #expect(file.contains("state/center"))
        let exported = try Checkpoint.loadEncoder(from: dir + "/epoch0/encoder.h5")
        #expect(exported.norm.weight.floats == teacherNorm)
        let studentNorm = try file.read("model/backbone.norm.weight", as: Float.self).values
        #expect(studentNorm != teacherNorm, "teacher and student differ after 16 steps")

        // One more epoch's steps: the last layer now trains.
        budget.imagesSeen = 16 * 20
        budget.checkpointEvery = 20
        #expect(try Pretraining(options(dir + "/epoch1")).run() == .completed(resumedFrom: nil))
        let later = try HDF5File(openingForReadAt: dir + "/epoch1/checkpoints/step-20.h5")
        defer { later.close() }
        #expect(try later.read("model/head.last_layer.weight_v", as: Float.self).values != initialValues["head.last_layer.weight_v"]!)
        let counts = try later.read("optimizer/counts", as: Int64.self).values
        let keys = initial.namedParameters().map(\.0)
        #expect(counts[keys.firstIndex(of: "head.last_layer.weight_v")!] == 4, "AdamW counts only the last layer's own updates")
        #expect(counts[keys.firstIndex(of: "head.mlp.0.weight")!] == 20)
    }
}
