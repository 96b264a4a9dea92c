import ArgumentParser
import Checkpoint
import Evaluation
import Foundation
import SafeIO
import Harness
import TensorCore

/// `patchbench eval <probe>`: frozen features of an encoder → a downstream probe → eval/<probe>.json.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a frozen encoder with a linear, k-NN, segmentation, detection or patch label-propagation probe, or fine-tune it.",
        discussion: """
            Writes one metrics file (schema patchbench.metrics/1, see
            Documentation/run-layout.md): the probe's numbers, the dataset name and
            digest, the encoder (method, budget, seed, config_hash), the whole
            protocol, wall_seconds and threads. Documentation/evaluation.md
            describes each probe.

            Encoder (exactly one):
              --checkpoint ENCODER.h5  a saved encoder. With a run.json beside it
                  (a run directory) the encoder block comes from run.json and
                  --out defaults to RUN_DIR/eval/<probe>.json.
              --random-init  an encoder initialised from
                  RandomStreams(--seed).initialization with --encoder-config and
                  never trained. tiny32's position table is a random learned one;
                  the tables' random-init row (the floor) is MAE's sin-cos encoder
                  from `pretrain --method random-init`: evaluate its encoder.h5.
              --raw-pixels  normalised pixels, flattened (linear/knn), or for
                  seg/det a token grid of each patch's pixels (--raw-patch-size,
                  default 4 as the tiny encoders): the reference row of pixels.
                  A grey pack (every pixel equal in all channels, as the
                  default packs) is read as its one channel.
              --constant-class  no features: linear/knn predict the most
                  frequent training label, seg the most frequent training
                  class everywhere, det the per-class mean training box
                  scored by class frequency: the floor below everything.

            Probes and default packs (patchbench make-default --out datasets/default):
              linear  logistic regression, C swept on a 20% stratified
                      validation split (datasets/default/fashion-mnist.h5)
              knn     weighted k-NN, k=20/T=0.07 and k=200/T=0.1 (same pack)
              seg     per-token linear head, bilinear upsampling, mIoU/aAcc
                      (datasets/default/fmnist-scenes-ade.h5)
              det     linear anchor-free box head, COCO AP50 (headline), AP,
                      class-agnostic AP; area bins relative to the image for
                      the embedded scenes (--area-bins)
                      (datasets/default/fmnist-scenes-coco.h5)
              patch-knn  label propagation from a bank of 16,384 labelled
                      train patch tokens, top-5 cosine neighbours weighted
                      by exp(sim/0.1) (DINO's DAVIS rule), mIoU/aAcc (seg's pack)
              finetune  the encoder and a head trained end to end (MAE's
                      recipe: AdamW, layer-wise lr decay, drop path, label
                      smoothing, warm-up + cosine; crop + flip) on a stratified
                      labelled subset, test top-1 (fashion-mnist.h5); resumable
                      from <out>.checkpoint.h5; --cache-dir does not apply
            Dense probes (seg, det, patch-knn): --blocks K reads the last K
            blocks' patch tokens concatenated along channels (default 1);
            seg, det: --head mlp trains a two-layer per-token MLP (1x1 conv to
            256 channels, ReLU, 1x1 conv) instead of the linear head.
            The train split fits the probe; the test split (test, else val) is
            scored once. Features (unless --kind): the token grid for dense probes; for
            linear/knn the readout the method's authors use, from the method table
            (`patchbench methods`: e.g. DINO's linear probe reads the CLS tokens of
            the last 4 blocks, LoMaR and SelfPatch the patch-token mean) for a
            run's checkpoint or --method, else cls (the patch-token mean for
            encoders without CLS). The protocol's readout_source says which. Images
            are normalised with ImageNet's mean/std; no augmentation.

            Examples:
              patchbench eval linear --checkpoint runs/tiny/mae/seed0/encoder.h5
              patchbench eval knn --random-init --encoder-config tiny32 \\
                  --seed 0 --out floor/knn.json
              patchbench eval linear --raw-pixels --out floor/raw-linear.json
              patchbench eval seg --constant-class --out floor/constant-seg.json
            """)

    @Argument(help: "Probe: linear, knn, seg, det, patch-knn or finetune.")
    var probe: String

    @OptionGroup var encoderOptions: FrozenEncoderOptions

    @Flag(help: "Use normalised pixels instead of an encoder: flattened (linear, knn) or a grid of patches (seg, det).")
    var rawPixels = false

    @Flag(help: "No features: the constant-class floor (the most frequent training label or class, or per-class mean box).")
    var constantClass = false

    @Option(help: "seg/det with --raw-pixels: patch size of the pixel grid (default: 4).")
    var rawPatchSize: Int?

    @Option(help: "det only: COCO area bins, coco (32², 96² px²) or image-relative ((side/4)², (side/2)²). Default: image-relative for the embedded Fashion-MNIST scenes, else coco.")
    var areaBins: String?

    @Option(help: "Dataset pack (default: the probe's default pack under datasets/default).")
    var data: String?

    @Option(help: "Metrics file to write (default: RUN_DIR/eval/<probe>.json for a checkpoint in a run directory).")
    var out: String?

    @Option(help: "Evaluation seed (validation split, head shuffling) and the --random-init seed. Default: the run's seed for a checkpoint in a run directory, else 0.")
    var seed: UInt64?

    @Option(help: "Feature kind: cls, mean, lastk:K (linear/knn) or grid, grid:lastk:K (seg/det/patch-knn). Default: the method's readout (patchbench methods), else cls; grid for seg/det/patch-knn.")
    var kind: String?

    @Option(help: "Folder for feature caches (reused when the encoder and pack digests match). Default: no cache.")
    var cacheDir: String?

    @Option(help: "Split that fits the probe (default: train).")
    var trainSplit: String?

    @Option(help: "Split that is scored (default: test, else val).")
    var testSplit: String?

    @Option(help: "Use only the first N images of the train split (quick runs; recorded as train_count).")
    var trainLimit: Int?

    @Option(help: "Use only the first N images of the test split (quick runs; recorded as test_count).")
    var testLimit: Int?

    @Option(help: "Score the last N images of the train split (after --train-limit) instead of the test split, fitting on the images before them: for choosing a probe's settings without the test split (Scripts/choose_finetune_recipe.sh). Recorded in train_split, test_split and subset.")
    var holdout: Int?

    @Option(help: "Dense probes (seg, det, patch-knn): read the patch tokens of the last K blocks, concatenated along channels (feature kind grid:lastk:K). Default: 1, the final block.")
    var blocks: Int?

    @Option(help: "seg and det: the per-token head, linear (default) or mlp (1x1 conv to 256 channels, ReLU, 1x1 conv).")
    var head: String?

    @Option(help: "det only: positives within R strides of each object's centre and inside its box (FCOS centre sampling; 0 = the centre token only). Default: 1.5.")
    var detCenterRadius: Double?

    @OptionGroup var fineTune: FineTuneCLIOptions

    @Option(help: "Encoder method for the metrics file when no run.json is beside the checkpoint (default: the method pretrain recorded in the encoder file); also picks its readout (patchbench methods).")
    var method: String?

    @Option(help: "Budget for the metrics file when no run.json is beside the checkpoint (default: none).")
    var budget: String?

    @Option(help: "Encoder seed for the metrics file when no run.json is beside the checkpoint.")
    var encoderSeed: Int?

    @Option(help: "config_hash for the metrics file when no run.json is beside the checkpoint (default: SHA-256 of the ViT config JSON).")
    var configHash: String?

    static let defaultPacks: [EvalProbe: String] = [
        .linear: "datasets/default/fashion-mnist.h5", .knn: "datasets/default/fashion-mnist.h5",
        .seg: "datasets/default/fmnist-scenes-ade.h5", .det: "datasets/default/fmnist-scenes-coco.h5",
        .patchKnn: "datasets/default/fmnist-scenes-ade.h5",
    ]

    func validate() throws {
        if let n = trainLimit, n < 1 { throw ValidationError("--train-limit must be at least 1") }
        if let n = testLimit, n < 1 { throw ValidationError("--test-limit must be at least 1") }
        if let r = detCenterRadius, !(r >= 0) { throw ValidationError("--det-center-radius must be a non-negative number of strides") }
        guard EvalProbe(rawValue: probe) != nil || probe == FineTuneProtocol.probe else {
            throw ValidationError("unknown probe '\(probe)'; choose linear, knn, seg, det, patch-knn or finetune")
        }
        let sources = [encoderOptions.checkpoint != nil, encoderOptions.randomInit, rawPixels, constantClass].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of --checkpoint, --random-init, --raw-pixels, --constant-class") }
        if let p = rawPatchSize, p < 1 || !rawPixels { throw ValidationError("--raw-patch-size needs --raw-pixels and a positive size") }
        if let bins = areaBins {
            guard DetectionAreaBins(rawValue: bins) != nil else {
                throw ValidationError("unknown --area-bins '\(bins)'; choose coco or image-relative")
            }
            guard probe == EvalProbe.det.rawValue else { throw ValidationError("--area-bins applies to the det probe") }
        }
        if let blocks, blocks < 1 { throw ValidationError("--blocks must be at least 1") }
        if blocks != nil, !(EvalProbe(rawValue: probe)?.needsGrid ?? false) {
            throw ValidationError("--blocks applies to the dense probes (seg, det, patch-knn)")
        }
        if let head {
            guard probe == EvalProbe.seg.rawValue || probe == EvalProbe.det.rawValue else {
                throw ValidationError("--head applies to the seg and det probes")
            }
            do { _ = try TokenHead(parsing: head) } catch { throw ValidationError("--head: \(error)") }
        }
        if let kind { _ = try FeatureKind(parsing: kind) }
        if let n = holdout, n < 1 { throw ValidationError("--holdout must be at least 1") }
    }

    /// The pack, splits, limits and normalisation the command line asks for.
    func evalInput(dataPath: String, seed: UInt64, encoder: EncoderDescription) -> EvalInput {
        var input = EvalInput(dataPath: dataPath, seed: seed)
        input.normalization = encoderOptions.normalization
        (input.trainSplit, input.testSplit) = (trainSplit, testSplit)
        (input.trainLimit, input.testLimit) = (trainLimit, testLimit)
        input.holdout = holdout
        input.encoderDescription = encoder
        return input
    }

    /// The run.json beside a checkpoint in a run directory (method, budget, seed, config_hash), else nil.
    static func runRecord(_ runDirectory: String?) throws -> MetricsRecord.EncoderInfo? {
        try runDirectory.map {
            try EncoderDescription.fromRunFile(($0 as NSString).appendingPathComponent(EncoderDescription.runFileName))
        }
    }

    func run() throws {
        // The checkout as the evaluation starts (it may move while a long eval runs).
        let checkout = Provenance.sourceAtStart
        if probe == FineTuneProtocol.probe { return try runFineTune(checkout: checkout) }
        let probe = EvalProbe(rawValue: probe)!
        BLAS.setThreads(encoderOptions.resolvedThreads)
        if probe == .linear, let note = BLAS.slowKernelNote { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let runDirectory = encoderOptions.checkpoint.flatMap(EncoderDescription.runDirectory(ofCheckpoint:))
        let run = try Self.runRecord(runDirectory)
        let evaluationSeed = seed ?? run.map { UInt64(max(0, $0.seed)) } ?? 0
        let source: EncoderSource
        // Without run.json and --method, the method `pretrain` recorded in the encoder file: its
        // readout, not the probe default (an RR or SR encoder has a CLS token it never trained).
        let storedMethod = run == nil && method == nil ? encoderOptions.checkpoint.flatMap(Checkpoint.encoderMethod(at:)) : nil
        var description = EncoderDescription(method: method ?? storedMethod, budget: budget, seed: encoderSeed, configHash: configHash)
        let reference = run.flatMap { try? Method.named($0.method) }?.encoderless
        if reference != nil, let run {
            // An encoderless reference row's run: its marker names no encoder; the run.json names the row.
            source = .rawPixels
            description = EncoderDescription(method: run.method, budget: run.budget, seed: run.seed, configHash: run.configHash)
        }
        else if let checkpoint = encoderOptions.checkpoint { source = .checkpoint(path: checkpoint) }
        else if encoderOptions.randomInit { source = .randomInit(config: try EncoderSource.config(named: encoderOptions.encoderConfig), seed: evaluationSeed) }
        else { source = .rawPixels }  // also for --constant-class, which reads no features
        let useConstantClass = constantClass || reference == .constantClass
        guard let outPath = out ?? runDirectory.map({ "\($0)/eval/\(probe.rawValue).json" }) else {
            throw ValidationError("--out is required unless the checkpoint lies in a run directory (with run.json)")
        }
        var options = EvalOptions(probe: probe, input: evalInput(dataPath: data ?? Checkout.resolve(Self.defaultPacks[probe]!),
                                                                seed: evaluationSeed, encoder: description))
        options.kind = try kind.map { try FeatureKind(parsing: $0) }
        // The method's own readout (the method table) for a run's encoder, or one named by --method.
        if let name = run?.method ?? method ?? storedMethod, let m = try? Method.named(name) {
            options.methodReadout = (m.name, m.readout(for: probe))
        }
        options.batchSize = encoderOptions.batchSize
        options.cacheDirectory = cacheDir
        if let r = detCenterRadius { options.detection.centerRadius = r }
        options.detectionAreaBins = areaBins.flatMap(DetectionAreaBins.init(rawValue:))
        if let p = rawPatchSize { options.rawPatchSize = p }
        options.gridBlocks = blocks
        if let head {
            options.segmentation.head = try TokenHead(parsing: head)
            options.detection.head = options.segmentation.head
        }
        options.progress = encoderOptions.progressLines()
        var outcome = useConstantClass ? try EvalProtocol.runConstantClass(options) : try EvalProtocol.run(options, source: source)
        (outcome.record.gitCommit, outcome.record.gitDirty) = checkout
        (outcome.record.buildCommit, outcome.record.buildDirty) = Provenance.build
        let directory = (outPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try AtomicFile.write(try outcome.record.encoded(), to: outPath)
        let numbers = outcome.record.metrics.keys.sorted().map { "\($0) \(String(format: "%.4g", outcome.record.metrics[$0]!))" }
        print("\(probe.rawValue) on \(outcome.record.dataset.name) (\(useConstantClass ? ConstantClassFloor.method : source.name)): \(numbers.joined(separator: ", "))")
        let cache = outcome.cacheReused.keys.sorted().map { "\($0) \(outcome.cacheReused[$0]! ? "reused" : "written")" }
        print(String(format: "features %.1f s, probe %.1f s, total %.1f s, %d threads", outcome.featureSeconds,
                     outcome.probeSeconds, outcome.record.wallSeconds, outcome.record.threads)
              + (cache.isEmpty ? "" : "; cache: " + cache.joined(separator: ", ")))
        print("wrote \(outPath)")
    }
}
