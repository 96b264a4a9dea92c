import Datasets
import Foundation
import SafeIO
import Layers
import Objectives
import Optim
import Results
import TensorCore

/// Speed claims tested the only way a CPU can: full training steps (forward, backward, AdamW) of
/// a method and its baseline on the same synthetic N(0, 1) batch, in one process, **alternating**
/// one baseline step and one method step per round so that drift of the machine falls on both.
/// LoMaR's claims (3.1× faster than MAE at 448 px, 2.5× at 384 px): the budget's encoder on grids
/// of g × g patches (the claims' 28 × 28 and 24 × 24 included), MAE with the budget's decoder and
/// with the papers' (512-d, 8 blocks, 16 heads), the baseline both papers time. DenseCL's
/// ("< 1 % slower" than MoCo-v2): both arms at the budget's settings, two views each. RandSAC's
/// arms (no speed claim; what each costs): against MAE's step, one view each. SelfPatch and
/// dino-ca (no speed claim): against DINO's step on the multi-crop views.
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
                let views = TrainingBatch(views: [view(images)])
                let (maeRates, lomarRates) = alternate(StepTimer(mae), StepTimer(lomar), views, warmup: warmup, rounds: rounds)
                let row = Row(grid: g, imageSize: size, decoder: decoder.rawValue,
                              decoderDimension: maeConfig.decoderDimension, decoderDepth: maeConfig.decoderDepth,
                              windowSize: lomarConfig.windowSize, windowCount: lomarConfig.windowCount, batch: batch,
                              baselineImagesPerSecond: maeRates, methodImagesPerSecond: lomarRates,
                              speedup: round(median(lomarRates) / median(maeRates)),
                              flopRatio: round(mae.flopsPerImage.total / lomar.flopsPerImage.total), threads: threads)
                log("grid \(g), \(decoder.rawValue) decoder: MAE \(String(format: "%.1f", median(maeRates))) img/s, "
                    + "LoMaR \(String(format: "%.1f", median(lomarRates))) img/s, "
                    + "LoMaR/MAE \(row.speedup) (FLOP ratio \(row.flopRatio))")
                rows.append(row)
            }
        }
        return rows
    }

    /// `method` against `baseline`, both from the method table at the budget's settings, on
    /// `grids` (default: the budget's grid; the images and the recipe's global size are g × patch),
    /// each step on one synthetic batch with the views of the method's recipe, which the
    /// baseline's must equal in number and sizes: DenseCL against MoCo-v2 (two views), a RandSAC
    /// arm against MAE (one), SelfPatch or dino-ca against DINO (the multi-crop views: globals and
    /// locals).
    public static func measurePair(method: Method, baseline: Method, budget: Budget, grids: [Int],
                                   batch: Int, warmup: Int, rounds: Int, threads: Int,
                                   log: (String) -> Void = { _ in }) throws -> [Row] {
        BLAS.setThreads(threads)
        var rows: [Row] = []
        for g in grids {
            var b = budget
            b.encoder.imageSize = g * budget.encoder.patchSize
            b.augmentation.size = b.encoder.imageSize
            b.batchSize = batch
            let (resolvedBaseline, resolvedMethod) = (try baseline.resolve(b), try method.resolve(b))
            guard case let (makeBaseline?, makeMethod?) = (resolvedBaseline.makeObjective, resolvedMethod.makeObjective) else {
                throw HarnessError("\(baseline) and \(method) must be trained methods")
            }
            let sizes = resolvedMethod.recipe.views.map(\.size)
            guard resolvedBaseline.recipe.views.map(\.size) == sizes else {
                throw HarnessError("\(method)'s views (\(sizes) px) differ from \(baseline)'s "
                                   + "(\(resolvedBaseline.recipe.views.map(\.size)) px): one batch cannot feed both")
            }
            var rng = RandomStream(seed: UInt64(g))
            let first = makeBaseline(&rng), second = makeMethod(&rng)
            let views = TrainingBatch(views: sizes.map { size in
                view(Tensor((0..<(batch * 3 * size * size)).map { _ in rng.nextNormal() }, shape: [batch, 3, size, size]))
            })
            let (baselineRates, methodRates) = alternate(StepTimer(first), StepTimer(second), views, warmup: warmup, rounds: rounds)
            let row = Row(grid: g, imageSize: b.encoder.imageSize, batch: batch, baselineImagesPerSecond: baselineRates,
                          methodImagesPerSecond: methodRates, speedup: round(median(methodRates) / median(baselineRates)),
                          flopRatio: round(first.flopsPerImage.total / second.flopsPerImage.total), threads: threads)
            log("grid \(g): \(baseline) \(String(format: "%.1f", median(baselineRates))) img/s, \(method) "
                + "\(String(format: "%.1f", median(methodRates))) img/s, "
                + "\(method)/\(baseline) \(row.speedup) (FLOP ratio \(row.flopRatio))")
            rows.append(row)
        }
        return rows
    }

    /// A view of whole, unflipped images (the geometry only feeds diagnostics).
    static func view(_ images: Tensor) -> TrainingBatch.View {
        let size = images.shape[2]
        return TrainingBatch.View(images: images, geometry: (0..<images.shape[0]).map { _ in
            CropGeometry(box: CropBox(top: 0, left: 0, height: size, width: size), flipped: false, outputSize: size)
        })
    }

    /// `warmup` untimed steps of each, then `rounds` rounds of one baseline step and one method
    /// step: images/s per round of each.
    static func alternate(_ baseline: StepTimer, _ method: StepTimer, _ batch: TrainingBatch, warmup: Int, rounds: Int)
        -> (baseline: [Double], method: [Double])
    {
        var (a, b) = (baseline, method)
        for _ in 0..<warmup {
            _ = a.step(batch)
            _ = b.step(batch)
        }
        var rates: (baseline: [Double], method: [Double]) = ([], [])
        for _ in 0..<rounds {
            rates.baseline.append(round(Double(batch.count) / a.step(batch)))
            rates.method.append(round(Double(batch.count) / b.step(batch)))
        }
        return rates
    }

    /// Times full training steps of one objective (its own AdamW and objective state, a fixed
    /// stream): what a pretraining step does, without data loading.
    struct StepTimer {
        let objective: any Objective
        let params: [(String, Tensor)]
        let adamw = AdamW(beta1: 0.9, beta2: 0.95)
        var state: AdamW.State
        var objectiveState: ObjectiveState
        var rng = RandomStream(seed: 1)
        var steps = 0

        init(_ objective: any Objective) {
            self.objective = objective
            params = objective.namedParameters()
            state = adamw.initialState(for: params)
            objectiveState = objective.initialState()
        }

        /// Seconds of one step.
        mutating func step(_ batch: TrainingBatch) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (_, p) in params { p.zeroGrad() }
            let out = objective.step(batch, context: StepContext(step: steps, stepsPerEpoch: 1_000_000, totalSteps: 1_000_000),
                                     state: objectiveState, rng: &rng)
            out.loss.backward()
            state = adamw.step(params, state: state, learningRate: 1e-4, weightDecay: 0.05)
            objectiveState = out.nextState()
            steps += 1
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
    }

    /// The file `patchbench tables` reads (`SpeedFile` in Results): the rows, the budget and
    /// where they were measured. Written to a temporary file and renamed.
    public static func write(_ rows: [Row], budget: String, methods: SpeedFile.Methods, to path: String) throws {
        struct File: Codable {
            var schema = SpeedFile.schemaName
            var methods: SpeedFile.Methods
            var budget: String
            var provenance: Provenance
            var rows: [Row]
        }
        let encoder = Budget.encoderJSON
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let threads = rows.first?.threads ?? 1
        let file = File(methods: methods, budget: budget, provenance: .current(threads: threads, wallSeconds: 0, imagesSeen: 0, encoderFlops: 0),
                        rows: rows)
        try AtomicFile.write(try encoder.encode(file), to: path, createFolder: true)
    }
}
