import Foundation
import Layers
import Objectives
import Optim
import Results
import TensorCore

/// LoMaR's speed claims (3.1× faster than MAE pretraining at 448 px, 2.5× at 384 px) tested the
/// only way a CPU can: the budget's encoder on grids of g × g patches (the claims' 28 × 28 and
/// 24 × 24 included), full training steps (forward, backward, AdamW) of both objectives on the
/// same synthetic N(0, 1) batch, in one process, **alternating** one MAE step and one LoMaR step
/// per round so that drift of the machine falls on both. MAE runs with the budget's decoder and
/// with the papers' (512-d, 8 blocks, 16 heads), the baseline both papers time.
public enum SpeedComparison {
    /// MAE's decoder in a comparison.
    public enum Decoder: String, Codable, CaseIterable, Sendable {
        /// The budget's `methods.mae` decoder (tiny: 128-d, 2 blocks).
        case budget
        /// MAE's and LoMaR's papers: 512-d, 8 blocks, 16 heads.
        case paper
    }

    /// One grid and decoder (`SpeedFile.Row`: the format `patchbench tables` reads).
    public typealias Row = SpeedFile.Row

    static func round(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    public static func median(_ values: [Double]) -> Double {
        let s = values.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// The window LoMaR uses on a g × g grid: the budget's below 14 patches per side, the
    /// paper's 7 from 14 on (spec §4.3), 4 windows.
    static func lomarSettings(_ budgetSettings: LoMaR.Config, grid g: Int) -> LoMaR.Config {
        var c = budgetSettings
        c.windowSize = g < 14 ? min(budgetSettings.windowSize, g) : 7
        c.windowCount = 4
        return c
    }

    public static func measure(budget: Budget, grids: [Int], decoders: [Decoder], batch: Int, warmup: Int, rounds: Int,
                               threads: Int, log: (String) -> Void = { _ in }) throws -> [Row] {
        BLAS.setThreads(threads)
        let budgetMAE = try budget.settings(MAE.Config(), key: "mae")
        let budgetLoMaR = try budget.settings(LoMaR.Config(), key: "lomar")
        var rows: [Row] = []
        for g in grids {
            var b = budget
            b.encoder.imageSize = g * budget.encoder.patchSize
            let lomarConfig = lomarSettings(budgetLoMaR, grid: g)
            var rng = RandomStream(seed: UInt64(g))
            let lomar = LoMaR(encoder: b.vitConfig(positionEmbedding: .none), config: lomarConfig, rng: &rng)
            let size = b.encoder.imageSize
            let images = Tensor((0..<(batch * 3 * size * size)).map { _ in rng.nextNormal() }, shape: [batch, 3, size, size])
            for decoder in decoders {
                var maeConfig = budgetMAE
                if decoder == .paper { (maeConfig.decoderDimension, maeConfig.decoderDepth, maeConfig.decoderHeads) = (512, 8, 16) }
                let mae = MAE(encoder: b.vitConfig(positionEmbedding: .sinCos), config: maeConfig, rng: &rng)
                var maeTimer = StepTimer(mae), lomarTimer = StepTimer(lomar)
                for _ in 0..<warmup {
                    _ = maeTimer.step(images)
                    _ = lomarTimer.step(images)
                }
                var maeRates: [Double] = [], lomarRates: [Double] = []
                for _ in 0..<rounds {
                    maeRates.append(round(Double(batch) / maeTimer.step(images)))
                    lomarRates.append(round(Double(batch) / lomarTimer.step(images)))
                }
                let row = Row(grid: g, imageSize: size, decoder: decoder.rawValue,
                              decoderDimension: maeConfig.decoderDimension, decoderDepth: maeConfig.decoderDepth,
                              windowSize: lomarConfig.windowSize, windowCount: lomarConfig.windowCount, batch: batch,
                              maeImagesPerSecond: maeRates, lomarImagesPerSecond: lomarRates,
                              speedup: round(median(lomarRates) / median(maeRates)),
                              flopRatio: round(mae.flopsPerImage.total / lomar.flopsPerImage.total), threads: threads)
                log("grid \(g), \(decoder.rawValue) decoder: MAE \(median(maeRates)) img/s, LoMaR \(median(lomarRates)) img/s, "
                    + "LoMaR/MAE \(row.speedup) (FLOP ratio \(row.flopRatio))")
                rows.append(row)
            }
        }
        return rows
    }

    /// Times full training steps of one objective (its own AdamW state, a fixed mask stream).
    struct StepTimer {
        let objective: any SingleViewObjective
        let params: [(String, Tensor)]
        let adamw = AdamW(beta1: 0.9, beta2: 0.95)
        var state: AdamW.State
        var rng = RandomStream(seed: 1)

        init(_ objective: any SingleViewObjective) {
            self.objective = objective
            params = objective.namedParameters()
            state = adamw.initialState(for: params)
        }

        /// Seconds of one step.
        mutating func step(_ images: Tensor) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (_, p) in params { p.zeroGrad() }
            let out = objective.loss(images: images, rng: &rng)
            out.loss.backward()
            state = adamw.step(params, state: state, learningRate: 1e-4, weightDecay: 0.05)
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
    }

    /// The file `patchbench tables` reads (`SpeedFile` in Results): the rows, the budget and
    /// where they were measured. Written to a temporary file and renamed.
    public static func write(_ rows: [Row], budget: String, to path: String) throws {
        struct File: Codable {
            var schema = SpeedFile.schemaName
            var methods = SpeedFile.Methods(method: "lomar", baseline: "mae")
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
