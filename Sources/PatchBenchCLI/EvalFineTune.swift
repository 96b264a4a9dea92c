import ArgumentParser
import Evaluation
import Foundation
import Harness
import SafeIO
import TensorCore

extension Eval {
    /// `patchbench eval finetune`: the encoder and a head trained end to end (not a frozen probe).
    func runFineTune(checkout: (String?, Bool?)) throws {
        if kind != nil || detCenterRadius != nil {
            throw ValidationError("--kind and --det-center-radius do not apply to finetune (it trains the whole encoder)")
        }
        let threads = encoderOptions.resolvedThreads
        BLAS.setThreads(threads)
        let runDirectory = encoderOptions.checkpoint.flatMap(EncoderDescription.runDirectory(ofCheckpoint:))
        let run = try Self.runRecord(runDirectory)
        let evaluationSeed = seed ?? run.map { UInt64(max(0, $0.seed)) } ?? 0
        if let runDirectory, let run, let reference = (try? Method.named(run.method))?.encoderless {
            return try writeEncoderlessFineTune(reference, run: run, runDirectory: runDirectory, seed: evaluationSeed, checkout: checkout)
        }
        if constantClass || rawPixels {
            throw ValidationError("finetune trains an encoder: --constant-class and --raw-pixels have none (their reference rows' runs record why)")
        }
        let source: EncoderSource
        if let checkpoint = encoderOptions.checkpoint { source = .checkpoint(path: checkpoint) }
        else if encoderOptions.randomInit { source = .randomInit(config: try EncoderSource.config(named: encoderOptions.encoderConfig), seed: evaluationSeed) }
        else { source = .rawPixels }
        guard let outPath = out ?? runDirectory.map({ "\($0)/eval/\(FineTuneProtocol.probe).json" }) else {
            throw ValidationError("--out is required unless the checkpoint lies in a run directory (with run.json)")
        }
        var options = FineTuneOptions(input: evalInput(
            dataPath: data ?? Checkout.resolve(Self.defaultPacks[.linear]!), seed: evaluationSeed,
            encoder: EncoderDescription(method: method, budget: budget, seed: encoderSeed, configHash: configHash)))
        options.configuration = fineTune.configuration
        options.threads = threads
        let directory = (outPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let checkpointPath = (outPath.hasSuffix(".json") ? String(outPath.dropLast(5)) : outPath) + ".checkpoint.h5"
        let mode = encoderOptions.progressMode
        var reporter: ProgressReporter? = nil
        let label = "finetune \(runDirectory ?? source.name)"
        var outcome = try FineTuneProtocol.run(options, source: source,
                                               checkpoint: (checkpointPath, fineTune.checkpointEvery, nil)) { p in
            if reporter == nil { reporter = ProgressReporter(mode: mode, total: p.totalSteps, label: label) }
            reporter!.update(done: p.step, loss: p.loss, imagesPerSecond: p.imagesPerSecond, stepsPerSecond: p.stepsPerSecond)
        }
        (outcome.record.gitCommit, outcome.record.gitDirty) = checkout
        (outcome.record.buildCommit, outcome.record.buildDirty) = Provenance.build
        try AtomicFile.write(try outcome.record.encoded(), to: outPath)
        try? FileManager.default.removeItem(atPath: checkpointPath)
        let r = outcome.result
        print(String(format: "finetune on %@ (%@): top1 %.2f, train_top1 %.2f after %d steps%@", outcome.record.dataset.name,
                     source.name, r.top1, r.trainTop1, r.steps, r.resumedFrom.map { " (resumed from step \($0))" } ?? ""))
        print(String(format: "total %.1f s, %d threads", outcome.record.wallSeconds, outcome.record.threads))
        print("wrote \(outPath)")
    }

    /// A reference row without an encoder: the constant class scores its share of the test
    /// images (as for linear); raw pixels have nothing to fine-tune, so its file records that and
    /// holds no number (tables show no finetune cell for it).
    func writeEncoderlessFineTune(_ reference: Method.EncoderlessReference, run: MetricsRecord.EncoderInfo, runDirectory: String,
                                  seed: UInt64, checkout: (String?, Bool?)) throws {
        let outPath = out ?? "\(runDirectory)/eval/\(FineTuneProtocol.probe).json"
        let dataPath = data ?? Checkout.resolve(Self.defaultPacks[.linear]!)
        let options = EvalOptions(probe: .linear, input: evalInput(
            dataPath: dataPath, seed: seed,
            encoder: EncoderDescription(method: run.method, budget: run.budget, seed: run.seed, configHash: run.configHash)))
        var record = try EvalProtocol.runConstantClass(options).record
        record.probe = FineTuneProtocol.probe
        switch reference {
        case .constantClass:
            record.settings["note"] = .string("no encoder to fine-tune: the constant-class floor of the linear probe")
        case .rawPixels:
            record.metrics = [:]
            record.settings = ["encoder_source": .string(reference.name), "feature_kind": .string("none"),
                               "not_applicable": .string("raw pixels have no encoder to fine-tune")]
        }
        (record.gitCommit, record.gitDirty) = checkout
        (record.buildCommit, record.buildDirty) = Provenance.build
        let directory = (outPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try AtomicFile.write(try record.encoded(), to: outPath)
        print("finetune on \(record.dataset.name) (\(reference.name)): "
              + (record.metrics.isEmpty ? "not applicable" : String(format: "top1 %.2f", record.metrics["top1"]!)))
        print("wrote \(outPath)")
    }
}
