import Checkpoint
import Datasets
import Evaluation
import Foundation
import SafeIO
import Layers
import Results
import TensorCore
import Testing

@Suite struct EvalProtocolTests {
    static func write(_ record: MetricsRecord, to path: String) throws {
        try AtomicFile.write(try record.encoded(), to: path)
    }

    @Test func linearMetricsFileParsesWithTheSchemaAndCarriesTheProtocol() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        let digest = try SyntheticData.classificationPack(at: pack)
        let options = EvalOptions(probe: .linear, dataPath: pack, seed: 3)
        let outcome = try EvalProtocol.run(options, source: .randomInit(config: SyntheticData.config(), seed: 3))
        let path = directory.file("linear.json")
        try Self.write(outcome.record, to: path)

        let record = try MetricsRecord.read(path: path)
        #expect(record.probe == "linear")
        #expect(record.dataset.name == "toy" && record.dataset.digest == digest)
        #expect(record.encoder.method == "random-init" && record.encoder.seed == 3 && record.encoder.budget == "none")
        #expect(record.encoder.configHash == EncoderDigest.config(SyntheticData.config()))
        #expect(Set(record.metrics.keys) == ["top1", "C"])
        #expect((0...100).contains(record.metrics["top1"]!))
        for key in ["feature_kind", "pooling", "normalization", "strengths", "validation_fraction", "seed", "train_split",
                    "test_split", "feature_batch_size", "encoder_digest", "init_seed", "encoder_source"] {
            #expect(record.settings[key] != nil, "protocol lacks \(key)")
        }
        #expect(record.settings["feature_kind"] == .string("cls"))
        let imagenet: ProtocolValue = .object(["name": .string("imagenet"),
                                               "mean": .list([.number(0.485), .number(0.456), .number(0.406)]),
                                               "std": .list([.number(0.229), .number(0.224), .number(0.225)])])
        #expect(record.settings["normalization"] == imagenet)
        #expect(record.settings["test_split"] == .string("test"))
        #expect(record.threads >= 1 && record.wallSeconds >= 0)
        // The Results side reads it too.
        let collected = try RunFileReader.readMetrics(path)
        #expect(collected.probe == "linear" && collected.metrics == record.metrics)
    }

    @Test func sameSeedGivesIdenticalBytes() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        let checkpoint = directory.file("encoder.h5")
        try SyntheticData.encoder(at: checkpoint)
        // wall_seconds is a measurement; a fixed clock makes it 0 so the rest can be compared byte for byte.
        func bytes(_ probe: EvalProbe, seed: UInt64) throws -> Data {
            var options = EvalOptions(probe: probe, dataPath: pack, seed: seed)
            options.kind = .lastBlocks(2)
            return try EvalProtocol.run(options, source: .checkpoint(path: checkpoint), clock: { 0 }).record.encoded()
        }
        #expect(try bytes(.linear, seed: 7) == bytes(.linear, seed: 7))
        #expect(try bytes(.knn, seed: 7) == bytes(.knn, seed: 7))
        // The seed is recorded, so another seed gives another file.
        #expect(try bytes(.linear, seed: 7) != bytes(.linear, seed: 8))
        // Random-init encoders are the same for the same seed and differ across seeds.
        let a = try EncoderSource.randomInit(config: SyntheticData.config(), seed: 1).makeEncoder()!
        let b = try EncoderSource.randomInit(config: SyntheticData.config(), seed: 1).makeEncoder()!
        let c = try EncoderSource.randomInit(config: SyntheticData.config(), seed: 2).makeEncoder()!
        #expect(EncoderDigest.parameters(of: a) == EncoderDigest.parameters(of: b))
        #expect(EncoderDigest.parameters(of: a) != EncoderDigest.parameters(of: c))
    }

    @Test func encoderBlockComesFromRunJSONInARunDirectory() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        let run = directory.file("runs/tiny/mae/seed2")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try SyntheticData.encoder(at: run + "/encoder.h5")
        let json = #"{"schema": "patchbench.run/1", "method": "mae", "budget": "tiny", "seed": 2, "config_hash": "abc123", "completed": true}"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: run + "/run.json"))
        #expect(EncoderDescription.runDirectory(ofCheckpoint: run + "/encoder.h5") == run)
        var options = EvalOptions(probe: .knn, dataPath: pack, seed: 2)
        options.input.encoderDescription = EncoderDescription(method: "ignored")
        let record = try EvalProtocol.run(options, source: .checkpoint(path: run + "/encoder.h5")).record
        #expect(record.encoder == MetricsRecord.EncoderInfo(method: "mae", budget: "tiny", seed: 2, configHash: "abc123"))
        #expect(Set(record.metrics.keys) == ["top1_k20_t0.07", "top1_k200_t0.1"])

        // A run.json without config_hash is an error naming it.
        try Data(#"{"method": "mae", "budget": "tiny", "seed": 2}"#.utf8).write(to: URL(fileURLWithPath: run + "/run.json"))
        do {
            _ = try EvalProtocol.run(options, source: .checkpoint(path: run + "/encoder.h5"))
            Issue.record("expected an error")
        } catch { #expect("\(error)".contains("run.json") && "\(error)".contains("config_hash")) }
    }

    @Test func rawPixelsSeparateTheToyClasses() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        let record = try EvalProtocol.run(EvalOptions(probe: .linear, dataPath: pack, seed: 0), source: .rawPixels).record
        #expect(record.encoder.method == "raw-pixels")
        #expect(record.settings["feature_shape"] == .list([.integer(192)]))
        #expect(record.settings["feature_kind"] == .string("raw-pixels"))
        #expect(record.metrics["top1"]! > 90)
        var packTrain = EvalOptions(probe: .knn, dataPath: pack, seed: 0)
        packTrain.input.normalization = "pack-train"
        let packRecord = try EvalProtocol.run(packTrain, source: .rawPixels).record
        guard case .object(let normalization)? = packRecord.settings["normalization"] else {
            Issue.record("no normalisation object")
            return
        }
        #expect(normalization["name"] == .string("pack-train"))
        packTrain.input.normalization = "per-image"
        #expect(throws: EvaluationError.self) { try EvalProtocol.run(packTrain, source: .rawPixels) }
        // A feature kind does not apply to raw pixels (the dense probes read their patch grid).
        var seg = EvalOptions(probe: .seg, dataPath: pack, seed: 0)
        seg.kind = .grid
        do {
            _ = try EvalProtocol.run(seg, source: .rawPixels)
            Issue.record("expected an error")
        } catch { #expect("\(error)".contains("feature kind does not apply to raw pixels")) }
    }

    /// A pack whose channels are copies (a grey source replicated to 3 channels) gives raw pixels of
    /// one channel; one pixel with a differing channel keeps all three.
    @Test func rawPixelsOfAGreyPackReadOneChannel() throws {
        let directory = try TemporaryDirectory()
        func pack(_ name: String, colourPixel: Bool) throws -> String {
            let path = directory.file(name)
            var rng = RandomStream(seed: 4)
            var contents = PackContents(sourceFormat: "idx", sourceFiles: ["synthetic"], options: ["channels": "3"],
                                        classNames: ["dark", "mid", "bright"])
            for (split, count) in [("train", 60), ("test", 30)] {
                let labels = (0..<count).map { Int32($0 % 3) }
                var images: [UInt8] = []
                for label in labels {
                    for _ in 0..<64 {
                        let grey = UInt8(40 + 80 * Int(label) + rng.nextInt(below: 40))
                        images += [grey, grey, grey]
                    }
                }
                if colourPixel && split == "test" { images[7 * 3 + 2] &+= 1 }
                var packSplit = PackSplit(name: split, count: count, height: 8, width: 8, channels: 3, images: images)
                packSplit.labels = labels
                contents.add(packSplit)
            }
            try contents.write(to: path)
            return path
        }
        let grey = try EvalProtocol.run(EvalOptions(probe: .linear, dataPath: try pack("grey.h5", colourPixel: false), seed: 0),
                                        source: .rawPixels).record
        #expect(grey.settings["feature_shape"] == .list([.integer(64)]))
        #expect(grey.settings["pixel_channels"] == .integer(1))
        #expect(grey.settings["normalization"] == .object(["name": .string("imagenet"), "mean": .list([.number(0.485)]),
                                                            "std": .list([.number(0.229)])]))
        guard case .string(let pooling)? = grey.settings["pooling"] else { Issue.record("no pooling"); return }
        #expect(pooling.contains("channel 0 only"))
        #expect(grey.metrics["top1"]! > 90)
        let colour = try EvalProtocol.run(EvalOptions(probe: .knn, dataPath: try pack("almost.h5", colourPixel: true), seed: 0),
                                          source: .rawPixels).record
        #expect(colour.settings["feature_shape"] == .list([.integer(192)]))
        #expect(colour.settings["pixel_channels"] == .integer(3))
        // Encoders read all channels, grey or not: the key is for raw pixels only.
        let encoderPath = directory.file("encoder.h5")
        try SyntheticData.encoder(at: encoderPath)
        let encoded = try EvalProtocol.run(EvalOptions(probe: .knn, dataPath: directory.file("grey.h5"), seed: 0),
                                           source: .checkpoint(path: encoderPath)).record
        #expect(encoded.settings["pixel_channels"] == nil)
    }

    @Test func denseProbesRunOnTheirPacks() throws {
        let directory = try TemporaryDirectory()
        let segPack = directory.file("seg.h5"), detPack = directory.file("det.h5")
        try SyntheticData.segmentationPack(at: segPack)
        try SyntheticData.detectionPack(at: detPack)
        let source = EncoderSource.randomInit(config: SyntheticData.config(), seed: 0)
        var seg = EvalOptions(probe: .seg, dataPath: segPack, seed: 0)
        seg.segmentation.epochs = 5
        let segRecord = try EvalProtocol.run(seg, source: source).record
        #expect(Set(segRecord.metrics.keys) == ["mIoU", "aAcc"])
        #expect(segRecord.settings["feature_shape"] == .list([.integer(4), .integer(4), .integer(32)]))
        #expect(segRecord.settings["test_split"] == .string("val"))
        #expect(segRecord.metrics.values.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 100 })
        // The halves differ in colour, which even a random encoder's tokens carry: far above chance (33 %).
        #expect(segRecord.metrics["aAcc"]! > 70, "\(segRecord.metrics)")
        var det = EvalOptions(probe: .det, dataPath: detPack, seed: 0)
        det.detection.epochs = 30
        let detRecord = try EvalProtocol.run(det, source: source).record
        #expect(Set(detRecord.metrics.keys) == ["AP", "AP50", "AP75", "APs", "APm", "APl", "AP50_agnostic", "AP_agnostic"])
        #expect(detRecord.settings["epochs"] == .integer(30))
        #expect(detRecord.metrics.values.allSatisfy { $0.isFinite && $0 <= 100 })
        // Squares of two colours: the head finds some of them (boxes converted from x1, y1, x2, y2 correctly).
        #expect(detRecord.metrics["AP50"]! > 10, "\(detRecord.metrics)")
        // Probes check their pack: seg on a pack without masks is an error naming the pack.
        do {
            _ = try EvalProtocol.run(EvalOptions(probe: .seg, dataPath: detPack, seed: 0), source: source)
            Issue.record("expected an error")
        } catch { #expect("\(error)".contains(detPack) && "\(error)".contains("masks")) }
    }

    @Test func corruptCheckpointAndMissingPackNameTheFile() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("toy.h5")
        try SyntheticData.classificationPack(at: pack)
        let corrupt = directory.file("corrupt.h5")
        try Data(repeating: 0x42, count: 4096).write(to: URL(fileURLWithPath: corrupt))
        let truncated = directory.file("truncated.h5")
        try SyntheticData.encoder(at: truncated)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let missing = directory.file("missing.h5")
        let options = EvalOptions(probe: .linear, dataPath: pack, seed: 0)
        for path in [corrupt, truncated, missing] {
            do {
                _ = try EvalProtocol.run(options, source: .checkpoint(path: path))
                Issue.record("expected an error for \(path)")
            } catch { #expect("\(error)".contains(path), "\(error)") }
        }
        let noPack = directory.file("no-pack.h5")
        do {
            _ = try EvalProtocol.run(EvalOptions(probe: .linear, dataPath: noPack, seed: 0), source: .rawPixels)
            Issue.record("expected an error")
        } catch { #expect("\(error)".contains(noPack) && "\(error)".contains("not found")) }
        // A checkpoint used as a pack is not a pack.
        let encoder = directory.file("encoder.h5")
        try SyntheticData.encoder(at: encoder)
        do {
            _ = try EvalProtocol.run(EvalOptions(probe: .linear, dataPath: encoder, seed: 0), source: .rawPixels)
            Issue.record("expected an error")
        } catch { #expect("\(error)".contains(encoder)) }
    }
}
