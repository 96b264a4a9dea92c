import Datasets
import Foundation
import Harness
import Objectives
import TensorCore

/// Shared test material: a small synthetic pack and a budget small enough for a few seconds.
enum HarnessFixtures {
    static let root = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func temporaryDirectory(_ name: String) -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("patchbench-harness-\(name)-\(getpid())")
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// 256 random 32×32×3 images with 10 labels, written once per process.
    static let pack: String = {
        let dir = temporaryDirectory("pack")
        var rng = RandomStream(seed: 99)
        let n = 256
        var split = PackSplit(name: "train", count: n, height: 32, width: 32, channels: 3,
                              images: (0..<(n * 32 * 32 * 3)).map { _ in UInt8(rng.nextInt(below: 256)) })
        split.labels = (0..<n).map { Int32($0 % 10) }
        var contents = PackContents(sourceFormat: "synthetic", sourceFiles: [], options: [:],
                                    classNames: (0..<10).map { "class\($0)" })
        contents.add(split)
        let path = (dir as NSString).appendingPathComponent("synthetic.h5")
        _ = try! contents.write(to: path)
        return path
    }()

    /// The smoke budget shrunk: dim 32, depth 1, batch 16, `steps` steps, checkpoint every 4.
    static func budget(steps: Int = 24) throws -> Budget {
        var b = try Budget.load(path: Budget.path(named: "smoke", root: root))
        b.name = "test"
        b.encoder.dimension = 32
        b.encoder.depth = 1
        b.encoder.heads = 2
        b.batchSize = 16
        b.imagesSeen = 16 * steps
        b.checkpointEvery = 4
        var mae = try b.settings(MAE.Config(), key: "mae")
        (mae.decoderDimension, mae.decoderHeads) = (16, 2)
        try b.setSettings(mae, key: "mae")
        var dino = try b.settings(DINO.Config(), key: "dino")
        (dino.outputs, dino.hidden, dino.bottleneck) = (32, 24, 8)
        dino.localCrops = 2
        try b.setSettings(dino, key: "dino")
        var moco = try b.settings(MoCoV2.Config(), key: "mocov2")
        (moco.hidden, moco.outputs, moco.queueSize) = (48, 16, 64)
        try b.setSettings(moco, key: "mocov2")
        return b
    }

    /// Writes a budget to a JSON file (for the executable).
    static func write(_ budget: Budget, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(budget).write(to: URL(fileURLWithPath: path))
    }

    /// Every parameter of an encoder file as raw float bits, sorted by key.
    static func encoderBits(_ path: String) throws -> [String: [UInt32]] {
        let vit = try Checkpoint.loadEncoder(from: path)
        var out: [String: [UInt32]] = [:]
        for (key, t) in vit.namedParameters() { out[key] = t.floats.map(\.bitPattern) }
        return out
    }
}

import Checkpoint
