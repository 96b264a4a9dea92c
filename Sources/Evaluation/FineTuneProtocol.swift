import Datasets
import Foundation
import HDF5Kit
import Layers
import TensorCore

/// Every setting of one fine-tuning evaluation besides the encoder.
public struct FineTuneOptions: Sendable {
    /// The pack, splits, seed, normalisation and encoder block (shared with the frozen probes).
    /// The seed draws the labelled subset and then the head (`evaluation`), the batches
    /// (`dataOrder`, `augmentation`) and the stochastic depth (`dropPath`); the limits cut the
    /// splits before the subset is drawn.
    public var input: EvalInput
    public var configuration = FineTuning.Configuration()
    /// Loader workers (augmentation); BLAS threads are pinned by the caller.
    public var threads = 1

    public init(input: EvalInput) {
        self.input = input
    }

    public init(dataPath: String, seed: UInt64) {
        self.init(input: EvalInput(dataPath: dataPath, seed: seed))
    }
}

/// `patchbench eval finetune`: pack → stratified labelled subset → the encoder and a head trained
/// end to end (`FineTuning`) → test top-1 → `MetricsRecord` with probe `finetune`.
public enum FineTuneProtocol {
    public static let probe = "finetune"

    public struct Outcome: Sendable {
        public var record: MetricsRecord
        public var result: FineTuning.Result
    }

    /// `checkpoint`: where training state goes (resumed when present), every `every` steps.
    public static func run(_ options: FineTuneOptions, source: EncoderSource,
                           checkpoint: (path: String, every: Int, stopAfterStep: Int?)?,
                           progress: ((FineTuning.Progress) -> Void)? = nil,
                           clock: () -> Double = { ProcessInfo.processInfo.systemUptime }) throws -> Outcome {
        let start = clock()
        let c = options.configuration
        let (pack, trainName, testName, train, test) = try options.input.openSplits()
        let trainLabels = try EvalProtocol.labels(train, pack: options.input.dataPath)
        _ = try EvalProtocol.labels(test, pack: options.input.dataPath)
        guard let encoder = try source.makeEncoder() else {
            throw EvaluationError.invalidInput("fine-tuning needs an encoder (--checkpoint or --random-init), not raw pixels")
        }
        let relativeBias = try source.makeRelativeBias(for: encoder)
        let encoderInfo = try options.input.encoderDescription.resolve(for: source, encoder: encoder)
        let size = encoder.config.imageSize
        for split in [train, test] {
            try FeatureExtractor(encoder: encoder).checkGeometry(height: split.height, width: split.width, channels: split.channels,
                                                                 source: "\(options.input.dataPath) split '\(split.name)'")
            guard split.height == size else {
                throw EvaluationError.invalidInput("\(options.input.dataPath): split '\(split.name)' has \(split.height) px images; "
                                                   + "fine-tuning runs at the encoder's image size, \(size) px")
            }
        }
        let normalization = try options.input.imageNormalization(train: train)

        // The labelled budget, then the head, from the evaluation stream.
        var streams = RandomStreams(seed: options.input.seed)
        let classes = pack.numClasses
        let subset: PackSplit
        if c.subsetSize < train.count {
            let drawn = StratifiedSplit.split(labels: trainLabels, classes: classes,
                                              heldOutFraction: Double(c.subsetSize) / Double(train.count),
                                              rng: &streams.evaluation).heldOut
            subset = train.rows(drawn)
        } else {
            subset = train
        }
        let model = try FineTuneModel(pretrained: encoder, relativeBias: relativeBias, classes: classes, dropPath: c.dropPath,
                                      pooling: c.pooling, rng: &streams.evaluation)
        let encoderDigest = EncoderDigest.parameters(of: encoder, relativeBias: relativeBias)

        var settings: [String: ProtocolValue] = [
            "normalization": normalization.protocolSettings,
            "encoder_source": .string(source.name),
            "encoder_digest": .string(encoderDigest),
            "encoder_config": .string(EncoderDigest.configJSON(encoder.config)),
            "relative_position_bias": .string(relativeBias.map {
                "\($0.settingsDescription), every block, on the full grid, trained" } ?? "none"),
            "seed": .integer(Int(options.input.seed)),
            "seed_stream": .string("RandomStreams(seed): evaluation (subset, then head), data_order, augmentation, drop_path"),
            "train_split": .string(trainName), "test_split": .string(testName),
            "train_count": .integer(train.count), "test_count": .integer(test.count),
            "subset": .string(options.input.subsetText),
            "labelled_count": .integer(subset.count),
            "labelled_subset": .string("stratified: per class round(subset_size / train_count * class count), "
                                       + "Fisher-Yates from the evaluation stream (StratifiedSplit)"),
            "image_size": .list([.integer(train.height), .integer(train.width)]),
            "classes": .integer(classes),
            "loss": .string("label-smoothing cross-entropy (timm LabelSmoothingCrossEntropy)"),
            "layer_decay_rule": .string("MAE util/lr_decay.py: cls_token, pos_embed, patch_embed -> 0; blocks.i -> i+1; "
                                        + "rest -> depth+1; lr scale layer_decay^(depth+1-id); no weight decay for rank-1 "
                                        + "tensors, cls_token, pos_embed"),
            "position_embedding": .string(encoder.config.positionEmbedding == .sinCos
                                          ? "trainable, initialised from the fixed sin-cos table (timm pos_embed)"
                                          : encoder.config.positionEmbedding.rawValue),
        ]
        if case .randomInit(_, let initSeed) = source {
            settings["init_seed"] = .integer(Int(initSeed))
            settings["init_stream"] = .string("RandomStreams(init_seed).initialization")
        }
        for (key, value) in c.protocolSettings {
            precondition(settings[key] == nil, "protocol key \(key) set twice")
            settings[key] = value
        }
        let plan = checkpoint.map { FineTuning.CheckpointPlan(path: $0.path, every: $0.every,
                                                              identity: identity(settings: settings, pack: pack.storedDigest),
                                                              stopAfterStep: $0.stopAfterStep) }
        let result = try FineTuning.train(model, train: subset, test: test, normalization: normalization, configuration: c,
                                          streams: streams, threads: options.threads, checkpoint: plan, progress: progress,
                                          clock: clock)
        settings["steps"] = .integer(result.steps)
        settings["steps_per_epoch"] = .integer(result.steps / max(c.epochs, 1))
        settings["last_epoch_loss"] = .number(result.lastEpochLoss)
        settings["finetuned_digest"] = .string(parameterDigest(model))
        let record = MetricsRecord(
            probe: probe, dataset: .init(name: EvalProtocol.datasetName(options.input.dataPath), digest: pack.storedDigest),
            encoder: encoderInfo, settings: settings, metrics: ["top1": result.top1, "train_top1": result.trainTop1],
            wallSeconds: result.earlierSeconds + clock() - start, threads: BLAS.threads)
        return Outcome(record: record, result: result)
    }

    /// What a checkpoint must match to be resumed: the pack and every protocol setting (which
    /// include the encoder's digest, the seed, the splits and the recipe).
    static func identity(settings: [String: ProtocolValue], pack: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let hasher = SHA256Hasher()
        hasher.update(pack)
        hasher.update([0])
        hasher.update(String(decoding: (try? encoder.encode(settings)) ?? Data(), as: UTF8.self))
        return hasher.finalize()
    }

    /// SHA-256 over the fine-tuned model's parameter names, shapes and float32 values, in order:
    /// two runs ended bit-identical exactly when these agree.
    public static func parameterDigest(_ model: FineTuneModel) -> String {
        let hasher = SHA256Hasher()
        EncoderDigest.update(hasher, with: model.namedParameters())
        return hasher.finalize()
    }
}
