import Foundation
import Layers
import Objectives
import Optim
import TensorCore

/// LoMaR's speed claim (3.1× faster than MAE pretraining at 448 px) tested the only way a
/// CPU can: the same encoder on grids of 8, 16 and 28 patches per side, full training steps
/// (forward, backward, AdamW) of both objectives on synthetic N(0, 1) images, timed on the
/// same machine in one process, alternating methods per grid.
public enum SpeedComparison {
    public struct Row: Codable, Equatable, Sendable {
        public var grid: Int
        public var imageSize: Int
        public var patchSize: Int
        public var windowSize: Int
        public var windowCount: Int
        public var batch: Int
        public var maeImagesPerSec: Double
        public var lomarImagesPerSec: Double
        /// LoMaR images/s ÷ MAE images/s (> 1: LoMaR faster).
        public var speedup: Double
        public var paperSpeedup: Double
        public var paperSetting: String
        public var threads: Int
        public var steps: Int
    }

    public static let paperSpeedup = 3.1
    public static let paperSetting = "ViT-B/16 pretrained at 448 px (28x28 grid), arXiv:2206.00790 abstract"

    /// The encoder, MAE decoder and LoMaR settings come from `budget` (tiny: dim 192, depth 6);
    /// the window is 4 on 8×8 and 7 on grids of 14 and more (spec §4.3), 4 windows.
    public static func measure(budget: Budget, grids: [Int], batch: Int, warmup: Int, steps: Int, threads: Int,
                               log: (String) -> Void = { _ in }) throws -> [Row] {
        BLAS.setThreads(threads)
        let maeConfig = try budget.settings(MAE.Config(), key: "mae")
        let budgetLoMaR = try budget.settings(LoMaR.Config(), key: "lomar")
        return grids.map { g in
            var b = budget
            b.encoder.imageSize = g * budget.encoder.patchSize
            var lomarConfig = budgetLoMaR
            lomarConfig.windowSize = g < 14 ? min(4, g) : 7
            var rng = RandomStream(seed: UInt64(g))
            let mae = MAE(encoder: b.vitConfig(positionEmbedding: .sinCos), config: maeConfig, rng: &rng)
            let lomar = LoMaR(encoder: b.vitConfig(positionEmbedding: .none), config: lomarConfig, rng: &rng)
            let size = b.encoder.imageSize
            let images = Tensor((0..<(batch * 3 * size * size)).map { _ in rng.nextNormal() }, shape: [batch, 3, size, size])
            let maeRate = imagesPerSecond(mae, images: images, warmup: warmup, steps: steps)
            log("grid \(g): MAE \(String(format: "%.1f", maeRate)) img/s")
            let lomarRate = imagesPerSecond(lomar, images: images, warmup: warmup, steps: steps)
            log("grid \(g): LoMaR \(String(format: "%.1f", lomarRate)) img/s")
            return Row(grid: g, imageSize: size, patchSize: budget.encoder.patchSize, windowSize: lomarConfig.windowSize,
                       windowCount: lomarConfig.windowCount, batch: batch, maeImagesPerSec: round(maeRate),
                       lomarImagesPerSec: round(lomarRate), speedup: round(lomarRate / maeRate),
                       paperSpeedup: paperSpeedup, paperSetting: paperSetting, threads: threads, steps: steps)
        }
    }

    static func round(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    /// batch / median step time of full training steps.
    static func imagesPerSecond(_ objective: any SingleViewObjective, images: Tensor, warmup: Int, steps: Int) -> Double {
        let params = objective.namedParameters()
        let adamw = AdamW(beta1: 0.9, beta2: 0.95)
        var state = adamw.initialState(for: params)
        var rng = RandomStream(seed: 1)
        var times: [Double] = []
        for i in 0..<(warmup + steps) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (_, p) in params { p.zeroGrad() }
            let out = objective.loss(images: images, rng: &rng)
            out.loss.backward()
            state = adamw.step(params, state: state, learningRate: 1e-4, weightDecay: 0.05)
            if i >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return Double(images.shape[0]) / median
    }

    /// Writes the rows (schema "patchbench.speed/1") to a temporary file and renames it.
    public static func write(_ rows: [Row], budget: String, to path: String) throws {
        struct File: Codable {
            var schema = "patchbench.speed/1"
            var claim = "LoMaR pretrains 3.1x faster than MAE at 448 px"
            var budget: String
            var provenance: Provenance
            var rows: [Row]
        }
        let encoder = Budget.encoderJSON
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let threads = rows.first?.threads ?? 1
        let file = File(budget: budget, provenance: .current(threads: threads, wallSeconds: 0, imagesSeen: 0, encoderFlops: 0),
                        rows: rows)
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try RunDirectory.writeAtomically(try encoder.encode(file), to: path)
    }
}
