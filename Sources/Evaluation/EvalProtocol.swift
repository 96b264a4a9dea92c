import Datasets
import Foundation
import Layers
import Metrics
import TensorCore

/// The downstream probes of `patchbench eval`.
public enum EvalProbe: String, CaseIterable, Sendable {
    case linear, knn, seg, det
    case patchKnn = "patch-knn"

    /// Feature kind used when none is asked for.
    public var defaultKind: FeatureKind { needsGrid ? .grid : .cls }
    /// The dense probes (seg, det, patch-knn) read token grids; they also read masks or boxes.
    public var needsGrid: Bool { self == .seg || self == .det || self == .patchKnn }
}

/// Every setting of one evaluation besides the encoder.
public struct EvalOptions: Sendable {
    public var probe: EvalProbe
    /// The pack, splits, seed, normalisation and encoder block (shared with fine-tuning).
    public var input: EvalInput
    /// nil: `methodReadout`, else the probe's default (`cls` for linear/knn, `grid` for the dense probes).
    public var kind: FeatureKind?
    /// Dense probes: read the patch tokens of the last K blocks, concatenated along channels
    /// (`FeatureKind.gridLastBlocks`); nil or 1: the final block only (`grid`).
    public var gridBlocks: Int?
    /// What the encoder's method reads for this probe (the method table's readout); a
    /// last-blocks readout is fitted to the encoder's depth. Recorded as `readout_source`.
    public var methodReadout: (method: String, kind: FeatureKind)?
    /// nil: `FeatureExtractor.automaticBatchSize`.
    public var batchSize: Int?
    /// Where features are cached (nil: not cached).
    public var cacheDirectory: String?
    public var linear = LinearProbe.Configuration()
    public var knnSettings = NearestNeighbourClassifier.dinoSettings
    public var segmentation = SegmentationProbe.Configuration()
    public var patchPropagation = PatchLabelPropagation.Configuration()
    public var detection = DetectionProbe.Configuration()
    /// det's COCO area bins; nil: `DetectionAreaBins.automatic(for:)` of the pack.
    public var detectionAreaBins: DetectionAreaBins?
    /// Patch size of the raw-pixel token grid (seg/det with raw pixels).
    public var rawPatchSize = RawPixelGrid.defaultPatchSize
    /// Hears progress lines (nil: silent): feature extraction's images (one line per 10 s and the
    /// last), and one line per finished fit of the linear probe's C sweep.
    public var progress: (@Sendable (String) -> Void)?

    public init(probe: EvalProbe, input: EvalInput) {
        self.probe = probe
        self.input = input
    }

    public init(probe: EvalProbe, dataPath: String, seed: UInt64) {
        self.init(probe: probe, input: EvalInput(dataPath: dataPath, seed: seed))
    }
}

/// The record plus what the CLI reports beside it.
public struct EvalOutcome: Sendable {
    public var record: MetricsRecord
    /// Feature extraction (or cache reading) and the probe, seconds.
    public var featureSeconds: Double
    public var probeSeconds: Double
    /// Per role ("train", "test"): whether its features came from the cache.
    public var cacheReused: [String: Bool]
}

/// One evaluation: pack → frozen features (cached when asked) → probe → `MetricsRecord`.
///
/// Splits: features of the train split fit the head, the test split (`test`, else `val`) is
/// scored once. The `protocol` block records the feature kind and pooling, the normalisation,
/// the batch size, split names and sizes, image and grid sizes, the encoder source and parameter
/// digest, the seed, and every setting of the head.
public enum EvalProtocol {
    public static func run(_ options: EvalOptions, source: EncoderSource,
                           clock: () -> Double = { ProcessInfo.processInfo.systemUptime }) throws -> EvalOutcome {
        let start = clock()
        let probe = options.probe
        let (pack, trainName, testName, train, test) = try options.input.openSplits()
        guard (train.height, train.width, train.channels) == (test.height, test.width, test.channels) else {
            throw EvaluationError.invalidInput("\(options.input.dataPath): splits '\(trainName)' and '\(testName)' have different image sizes")
        }
        let encoder = try source.makeEncoder()
        let relativeBias = try encoder.flatMap { try source.makeRelativeBias(for: $0) }
        let encoderInfo = try options.input.encoderDescription.resolve(for: source, encoder: encoder)
        let readoutSource: String
        var kind: FeatureKind
        if let asked = options.kind {
            (kind, readoutSource) = (asked, "asked")
        } else if let readout = options.methodReadout, let encoder {
            (kind, readoutSource) = (readout.kind.fitted(depth: encoder.config.depth), "method table (\(readout.method))")
        } else {
            (kind, readoutSource) = (probe.defaultKind, "probe default")
        }
        if let blocks = options.gridBlocks {
            guard blocks >= 1, probe.needsGrid, kind == .grid || kind == .grid(blocks: blocks) else {
                throw EvaluationError.invalidInput("--blocks \(blocks) applies to the dense probes' grid features (seg, det, patch-knn), not to probe \(probe.rawValue) with feature kind \(kind)")
            }
            kind = .grid(blocks: blocks)
        }
        guard probe.needsGrid == kind.isGrid else {
            throw EvaluationError.invalidInput("probe \(probe.rawValue) needs \(probe.needsGrid ? "grid" : "pooled (cls, mean, lastk:K)") features, not \(kind)")
        }
        if encoder == nil, options.kind != nil {
            throw EvaluationError.invalidInput("a feature kind does not apply to raw pixels")
        }
        let kindName = encoder == nil
            ? (probe.needsGrid ? "\(EncoderSource.rawPixelsMethod)-grid:p\(options.rawPatchSize)" : EncoderSource.rawPixelsMethod)
            : kind.description
        // Raw pixels of a grey pack: channel 0 only, with its constants (GreyChannels says why).
        let greyPixels = encoder == nil && train.channels > 1
            && GreyChannels.areCopies(train.images, channels: train.channels)
            && GreyChannels.areCopies(test.images, channels: test.channels)
        let pixelChannels = greyPixels ? 1 : train.channels
        let packNormalization = try options.input.imageNormalization(train: train)
        let normalization = greyPixels ? packNormalization.channel(0) : packNormalization

        // Features.
        let featureStart = clock()
        let encoderDigest = encoder.map { EncoderDigest.parameters(of: $0, relativeBias: relativeBias) } ?? EncoderSource.rawPixelsMethod
        var reused: [String: Bool] = [:]
        var batchSize = 0
        func features(of split: PackSplit, role: String, limit: Int?) throws -> ExtractedFeatures {
            let compute: () throws -> ExtractedFeatures = {
                guard let encoder else {
                    let images = greyPixels ? GreyChannels.firstChannel(split.images, channels: split.channels) : split.images
                    if probe.needsGrid {
                        return try RawPixelGrid.extract(images: images, count: split.count, height: split.height,
                                                        width: split.width, channels: pixelChannels,
                                                        patchSize: options.rawPatchSize, normalization: normalization)
                    }
                    return RawPixelFeatures.extract(images: images, count: split.count, height: split.height,
                                                    width: split.width, channels: pixelChannels,
                                                    normalization: normalization)
                }
                let extractor = FeatureExtractor(encoder: encoder, relativeBias: relativeBias, normalization: normalization,
                                                 batchSize: options.batchSize)
                let report = options.progress.map { ExtractionProgress(role: role, total: split.count, say: $0) }
                return try extractor.extract(images: split.images, count: split.count, height: split.height,
                                             width: split.width, channels: split.channels, kind: kind,
                                             source: "\(options.input.dataPath) split '\(split.name)'",
                                             progress: report.map { $0.update(done:) })
            }
            guard let directory = options.cacheDirectory else { return try compute() }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // A split cut by --train-limit/--test-limit is cached under its own name (the limit
            // is the role's: train and test may name the same split).
            let splitKey = limit == nil ? split.name : "\(split.name)-first\(split.count)"
            let key = FeatureCacheKey(encoderDigest: encoderDigest, packDigest: pack.storedDigest, split: splitKey,
                                      kind: kindName, normalization: normalization.cacheKey)
            // A held-out slice's name ("train[0..<k]") becomes "train0-k" in the file name.
            let fileSplit = splitKey.replacingOccurrences(of: "..<", with: "-").filter { $0 != "[" && $0 != "]" }
            func cachePath(kind: String) -> String {
                (directory as NSString).appendingPathComponent("\(pack.storedDigest.prefix(12))-\(fileSplit)-"
                    + "\(kind.replacingOccurrences(of: ":", with: ""))-\(encoderDigest.prefix(12)).h5")
            }
            // The final block's pooled vector is the last D values of a last-blocks cache's rows
            // (both pool the final-normalised output alike): DINO's k-NN reads `cls` after its
            // linear probe cached `lastk:4`, so it is sliced from there, not extracted again.
            var sliced = false
            let sliceOrCompute: () throws -> ExtractedFeatures = {
                if let encoder, kind.isFinalBlockOfLastBlocks(encoderHasCls: encoder.config.clsToken) {
                    for blocks in 1...encoder.config.depth {
                        var blocksKey = key
                        blocksKey.kind = FeatureKind.lastBlocks(blocks).description
                        if let cached = try FeatureCache.load(path: cachePath(kind: blocksKey.kind), key: blocksKey) {
                            sliced = true
                            return cached.lastColumns(encoder.config.dimension)
                        }
                    }
                }
                return try compute()
            }
            let (result, wasReused) = try FeatureCache.loadOrCompute(path: cachePath(kind: kindName), key: key,
                                                                     compute: sliceOrCompute)
            reused[role] = wasReused || sliced
            return result
        }
        let trainFeatures = try features(of: train, role: "train", limit: options.input.trainLimit)
        let testFeatures = try features(of: test, role: "test", limit: options.input.testLimit)
        if let encoder {
            batchSize = FeatureExtractor(encoder: encoder, batchSize: options.batchSize)
                .effectiveBatchSize(height: train.height, width: train.width)
        }
        let featureSeconds = clock() - featureStart

        // Probe.
        let probeStart = clock()
        var streams = RandomStreams(seed: options.input.seed)
        var head: [String: ProtocolValue]
        var metrics: [String: Double]
        let classes = pack.numClasses
        switch probe {
        case .linear, .knn:
            let trainLabels = try labels(train, pack: options.input.dataPath)
            let testLabels = try labels(test, pack: options.input.dataPath)
            let d = trainFeatures.dimension
            if probe == .linear {
                let report = options.progress.map { say in
                    { (fit: LinearProbe.FitReport) in
                        let what = fit.validationAccuracy.map { String(format: "validation top-1 %.2f %%", $0) }
                            ?? "refit on train + val"
                        say(String(format: "linear: fit %d/%d, C %.3g: %d iterations, ", fit.index, fit.count,
                                   fit.strength, fit.iterations) + what)
                    }
                }
                let fitted = try LinearProbe.fit(trainFeatures: trainFeatures.values, trainLabels: trainLabels, dimension: d,
                                                 classes: classes, configuration: options.linear,
                                                 rng: &streams.evaluation, progress: report)
                metrics = try fitted.evaluate(testFeatures: testFeatures.values, testLabels: testLabels)
                head = options.linear.protocolSettings
                head["validation_top1"] = .list(fitted.validationAccuracy.map { .number($0) })
                head["iterations"] = .list(fitted.iterations.map { .integer($0) })
            } else {
                metrics = try NearestNeighbourClassifier.metrics(train: trainFeatures.values, trainLabels: trainLabels,
                                                                 test: testFeatures.values, testLabels: testLabels,
                                                                 dimension: d, classes: classes,
                                                                 settings: options.knnSettings)
                head = ["similarity": .string("cosine of L2-normalised features (DINO eval_knn)"),
                        "vote": .string("sum of exp(similarity / T) over the k nearest training rows"),
                        "settings": .list(options.knnSettings.map {
                            .object(["k": .integer($0.neighbours), "temperature": .number($0.temperature)])
                        })]
            }
        case .seg:
            guard let trainMasks = train.masks, let testMasks = test.masks else {
                throw EvaluationError.invalidInput("\(options.input.dataPath): the seg probe needs masks in splits '\(trainName)' and '\(testName)'")
            }
            let model = try SegmentationProbe.fit(tokens: trainFeatures.values, shape: trainFeatures.gridShape!,
                                                  masks: trainMasks, maskHeight: train.height, maskWidth: train.width,
                                                  classes: classes, configuration: options.segmentation,
                                                  rng: &streams.evaluation)
            metrics = try model.evaluate(tokens: testFeatures.values, shape: testFeatures.gridShape!, masks: testMasks,
                                         maskHeight: test.height, maskWidth: test.width).record
            head = options.segmentation.protocolSettings
        case .patchKnn:
            guard let trainMasks = train.masks, let testMasks = test.masks else {
                throw EvaluationError.invalidInput("\(options.input.dataPath): the patch-knn probe needs masks in splits '\(trainName)' and '\(testName)'")
            }
            let outcome = try PatchLabelPropagation.evaluate(
                trainTokens: trainFeatures.values, trainShape: trainFeatures.gridShape!, trainMasks: trainMasks,
                testTokens: testFeatures.values, testShape: testFeatures.gridShape!, testMasks: testMasks,
                maskHeight: test.height, maskWidth: test.width, classes: classes,
                configuration: options.patchPropagation, rng: &streams.evaluation)
            metrics = outcome.metrics.record
            head = options.patchPropagation.protocolSettings
            head["bank_size"] = .integer(outcome.bankSize)
            head["labelled_train_tokens"] = .integer(outcome.labelledTrainTokens)
        case .det:
            guard let trainBoxes = train.boxes, let testBoxes = test.boxes else {
                throw EvaluationError.invalidInput("\(options.input.dataPath): the det probe needs boxes in splits '\(trainName)' and '\(testName)'")
            }
            let shape = trainFeatures.gridShape!
            let geometry = DetectionGeometry(gridHeight: shape.gridHeight, gridWidth: shape.gridWidth,
                                             imageHeight: Double(train.height), imageWidth: Double(train.width))
            let model = try DetectionProbe.fit(tokens: trainFeatures.values, shape: shape, geometry: geometry,
                                               objects: objects(trainBoxes, count: train.count), classes: classes,
                                               configuration: options.detection, rng: &streams.evaluation)
            let scored = try scoreDetections(
                try model.detect(tokens: testFeatures.values, shape: testFeatures.gridShape!, geometry: geometry),
                test: test, testBoxes: testBoxes, classes: classes, pack: pack, options: options)
            metrics = scored.metrics
            head = options.detection.protocolSettings
            head["area_bins"] = scored.areaBins
            head["agnostic"] = .string(DetectionReport.classAgnosticRule)
            head["box_format"] = .string("pack x1,y1,x2,y2 -> COCO x,y,w,h; area = w*h; category id = class + 1")
        }
        let probeSeconds = clock() - probeStart

        var settings: [String: ProtocolValue] = [
            "feature_kind": .string(kindName),
            "pooling": .string(encoder.map { kind.pooling(encoderHasCls: $0.config.clsToken) }
                ?? ((probe.needsGrid ? "each \(options.rawPatchSize) px patch's normalised pixels flattened (C, y, x)"
                    : "flattened normalised pixels (C, H, W)")
                    + (greyPixels ? ", channel 0 only: the pack's \(train.channels) channels are copies (grey)" : ""))),
            "readout_source": .string(encoder == nil ? "raw pixels" : readoutSource),
            "normalization": normalization.protocolSettings,
            "augmentation": .string("none"),
            "encoder_source": .string(source.name),
            "encoder_digest": .string(encoderDigest),
            "seed": .integer(Int(options.input.seed)),
            "seed_stream": .string("RandomStreams(seed).evaluation"),
            "train_split": .string(trainName), "test_split": .string(testName),
            "train_count": .integer(train.count), "test_count": .integer(test.count),
            "subset": .string(options.input.subsetText),
            "image_size": .list([.integer(train.height), .integer(train.width)]),
            "feature_shape": .list(trainFeatures.shape.dropFirst().map { .integer($0) }),
            "classes": .integer(classes),
        ]
        if let encoder {
            settings["feature_batch_size"] = .integer(batchSize)
            settings["encoder_config"] = .string(EncoderDigest.configJSON(encoder.config))
            settings["relative_position_bias"] = .string(relativeBias.map {
                "\($0.settingsDescription), every block, on the full grid" } ?? "none")
        } else {
            settings["pixel_channels"] = .integer(pixelChannels)
        }
        if case .randomInit(_, let initSeed) = source {
            settings["init_seed"] = .integer(Int(initSeed))
            settings["init_stream"] = .string("RandomStreams(init_seed).initialization")
        }
        for key in head.keys.sorted() {
            precondition(settings[key] == nil, "protocol key \(key) set twice")
            settings[key] = head[key]
        }
        let record = MetricsRecord(
            probe: probe.rawValue,
            dataset: .init(name: datasetName(options.input.dataPath), digest: pack.storedDigest),
            encoder: encoderInfo, settings: settings, metrics: metrics,
            wallSeconds: clock() - start, threads: BLAS.threads)
        return EvalOutcome(record: record, featureSeconds: featureSeconds, probeSeconds: probeSeconds, cacheReused: reused)
    }

    /// COCO metrics of detections on the test split, with the area bins `options` asks for (else
    /// the pack's automatic ones) and those bins' protocol record.
    static func scoreDetections(_ detections: [COCODetection], test: PackSplit, testBoxes: PackBoxes, classes: Int, pack: Pack,
                                options: EvalOptions) throws -> (metrics: [String: Double], areaBins: ProtocolValue) {
        let bins = options.detectionAreaBins ?? DetectionAreaBins.automatic(for: pack)
        let parameters = bins.parameters(imageWidth: Double(test.width), imageHeight: Double(test.height))
        let metrics = try DetectionReport.metrics(
            groundTruth: DetectionProbe.groundTruth(objects: objects(testBoxes, count: test.count), classes: classes),
            detections: detections, parameters: parameters, agnosticIoU: options.detection.nmsThreshold)
        return (metrics, DetectionReport.protocolSettings(bins, parameters: parameters))
    }

    /// Opens a pack; a missing or unreadable file gives an error naming it.
    public static func openPack(_ path: String) throws -> Pack {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EvaluationError.invalidInput("\(path): dataset pack not found (build the defaults with `patchbench make-default --out datasets/default`)")
        }
        do { return try Pack(openingAt: path) } catch {
            let message = "\(error)"
            throw EvaluationError.invalidInput(message.contains(path) ? message : "\(path): cannot open dataset pack: \(message)")
        }
    }

    /// The dataset name of a metrics file: the pack's file name without `.h5`.
    public static func datasetName(_ path: String) -> String {
        let base = (path as NSString).lastPathComponent
        return base.hasSuffix(".h5") ? String(base.dropLast(3)) : base
    }

    static func labels(_ split: PackSplit, pack: String) throws -> [Int32] {
        guard let labels = split.labels else {
            throw EvaluationError.invalidInput("\(pack): split '\(split.name)' has no labels (the linear and knn probes need a classification pack)")
        }
        return labels
    }

    /// Pack boxes (x1, y1, x2, y2) → per-image COCO-style objects (x, y, w, h).
    static func objects(_ boxes: PackBoxes, count: Int) -> [[DetectionObject]] {
        (0..<count).map { image in
            boxes.range(ofImage: image).map { row in
                let b = (0..<4).map { Double(boxes.boxes[row * 4 + $0]) }
                return DetectionObject(box: [b[0], b[1], b[2] - b[0], b[3] - b[1]], classIndex: Int(boxes.classes[row]),
                                       isCrowd: boxes.crowd[row] != 0)
            }
        }
    }
}
