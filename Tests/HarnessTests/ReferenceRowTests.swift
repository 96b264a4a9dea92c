import Checkpoint
import Datasets
import Foundation
import Harness
import Objectives
import Results
import TensorCore
import Testing

/// The reference rows beside the floor: the supervised upper bound and the encoderless raw-pixel row.
@Suite struct ReferenceRowTests {
    /// 256 images whose mean brightness encodes their label (a learnable task), written once.
    static let labelledPack: String = {
        let dir = HarnessFixtures.temporaryDirectory("labelled-pack")
        var rng = RandomStream(seed: 7)
        let n = 256, pixels = 32 * 32 * 3
        var images: [UInt8] = []
        images.reserveCapacity(n * pixels)
        for i in 0..<n {
            let level = 20 + 22 * (i % 10)
            for _ in 0..<pixels { images.append(UInt8(clamping: level + rng.nextInt(below: 11) - 5)) }
        }
        var split = PackSplit(name: "train", count: n, height: 32, width: 32, channels: 3, images: images)
        split.labels = (0..<n).map { Int32($0 % 10) }
        var contents = PackContents(sourceFormat: "synthetic", sourceFiles: [], options: [:], classNames: (0..<10).map { "c\($0)" })
        contents.add(split)
        let path = (dir as NSString).appendingPathComponent("labelled.h5")
        _ = try! contents.write(to: path)
        return path
    }()

    func options(_ method: Method, _ budget: Budget, data: String, run: String) -> Pretraining.Options {
        Pretraining.Options(method: method, budget: budget, seed: 0, dataPath: data, runPath: run, threads: 1, progress: .quiet)
    }

    func losses(_ run: String) throws -> [Double] {
        try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8).split(separator: "\n").map { line in
            (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["loss"] as! Double
        }
    }

    @Test func supervisedLearnsTheLabelsAndExportsTheEncoderOnly() throws {
        let run = HarnessFixtures.temporaryDirectory("supervised") + "/run"
        var budget = try HarnessFixtures.budget(steps: 64)
        budget.optimizer.baseLearningRate = 0.03   // 1.9e-3 at batch 16: a few dozen steps must be enough
        #expect(try Pretraining(options(.supervised, budget, data: Self.labelledPack, run: run)).run() == .completed(resumedFrom: nil))
        let loss = try losses(run)
        // Chance is log 10 = 2.30; brightness separates the classes, so the loss must fall far below it.
        #expect(loss.first! > 1.5, "first loss \(loss.first!)")
        #expect(loss.suffix(8).reduce(0, +) / 8 < 0.6 * log(10.0), "last losses \(loss.suffix(8))")
        let encoder = try Checkpoint.loadEncoder(from: run + "/encoder.h5")
        #expect(!encoder.namedParameters().contains { $0.0.hasPrefix("head") })
        #expect(encoder.config.clsToken)
    }

    @Test func supervisedNamesThePackWhenLabelsDoNotFit() throws {
        var budget = try HarnessFixtures.budget(steps: 4)
        var settings = Supervised.Config()
        settings.classes = 5
        try budget.setSettings(settings, key: "supervised")
        let run = HarnessFixtures.temporaryDirectory("supervised-classes") + "/run"
        #expect {
            try Pretraining(options(.supervised, budget, data: Self.labelledPack, run: run)).run()
        } throws: { error in
            let text = "\(error)"
            return text.contains(Self.labelledPack) && text.contains("label 5") && text.contains("5 classes")
        }
        #expect(!FileManager.default.fileExists(atPath: run + "/encoder.h5"))
    }

    @Test func rawPixelsRowWritesAMarkerThatIsNotAnEncoder() throws {
        let run = HarnessFixtures.temporaryDirectory("raw-pixels") + "/run"
        let budget = try HarnessFixtures.budget(steps: 4)
        #expect(try Pretraining(options(.rawPixels, budget, data: HarnessFixtures.pack, run: run)).run() == .completed(resumedFrom: nil))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as! [String: Any]
        #expect(manifest["completed"] as? Bool == true && manifest["method"] as? String == "raw-pixels")
        #expect {
            _ = try Checkpoint.loadEncoder(from: run + "/encoder.h5")
        } throws: { error in "\(error)".contains("encoderless reference row") }
    }

    @Test func tablesListMethodsThenReferencesThenFloors() {
        let names = ["random-init", "constant-class", "supervised", "mae", "raw-pixels", "random-init-lomar", "dino"]
        #expect(names.sorted(by: ResultsSummary.methodOrder)
                == ["dino", "mae", "supervised", "raw-pixels", "constant-class", "random-init", "random-init-lomar"])
    }
}
