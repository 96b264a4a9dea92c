import ArgumentParser
import Foundation
import Harness
import Results

/// `patchbench speed`: a method's and its baseline's pretraining images/s, alternating, and their ratio.
struct Speed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a method's and its baseline's pretraining images/s, alternating, and write the ratio.",
        discussion: """
            --pair lomar (default): LoMaR against MAE. For each grid (patches per side;
            image = grid x patch size) both objectives
            run full training steps (forward, backward, AdamW) on the same synthetic
            batch with the budget's encoder: after --warmup untimed steps each, every
            round times one MAE step and then one LoMaR step (alternating, so drift of
            the machine falls on both). LoMaR: the budget's window below 14 patches per
            side, else 7; 4 windows. MAE: with the budget's decoder and with the papers'
            (512-d, 8 blocks, 16 heads), as --decoders says. Each row has the per-round
            images/s of both, the LoMaR/MAE ratio of the medians and the FLOP ratio
            (what a purely compute-bound machine would show). Written to
            runs/speed/<budget>.json by default, where `patchbench tables` reads it:
            LoMaR's speed claims get their verdict from the rows at the claim's grid
            with the budget's decoder (448 px = grid 28, 384 px = grid 24 at patch 16;
            behind the budget's small encoder the papers' decoder would take a far
            larger share of MAE's cost than it does in the papers), rounds paired as
            seeds are.
            --pair densecl: DenseCL against MoCo-v2 at the budget's settings (two views,
            both queues), on the budget's grid unless --grids is given; written to
            runs/speed/<budget>-densecl.json, where DenseCL's "< 1 % slower" claim reads
            it. --pair randsac: each of --arms against MAE at the budget's settings
            (one view), one file per arm, runs/speed/<budget>-<arm>.json: what each
            arm costs (RandSAC makes no speed claim). --pair selfpatch: each of --arms
            (default selfpatch,dino-ca) against DINO on the multi-crop views of the
            budget's DINO recipe (globals and locals), one file per arm: what
            SelfPatch's patch loss and its class-attention head cost. Schema
            patchbench.speed/3. Run on a quiet machine; only ratios within one run are
            comparable.
            Examples: patchbench speed --budget tiny --grids 8,14,24,28
                      patchbench speed --pair densecl --budget tiny --rounds 20
                      patchbench speed --pair randsac --arms randsac,randsac-blob --budget tiny
                      patchbench speed --pair selfpatch --budget tiny --batch 64
            """)

    @Option(help: "The pair: lomar (against mae), densecl (against mocov2), randsac (its arms against mae) or selfpatch (its arms against dino).")
    var pair: String = "lomar"
    @Option(help: "With --pair randsac or selfpatch: comma-separated arms of that method (patchbench methods lists them; default randsac,randsac-blob or selfpatch,dino-ca).")
    var arms: String?
    @Option(help: "Budget name or budget .json path (encoder and method settings).") var budget: String = "tiny"
    @Option(help: "Comma-separated grid sizes (patches per side); lomar default 8,14,24,28, densecl the budget's.")
    var grids: String?
    @Option(help: "Comma-separated MAE decoders: budget, paper.") var decoders: String = "budget,paper"
    @Option(help: "Images per step.") var batch: Int = 16
    @Option(help: "Untimed warm-up steps per method, grid and decoder.") var warmup: Int = 2
    @Option(help: "Timed rounds (one step of each method) per grid and decoder.") var rounds: Int = 5
    @Option(help: ArgumentHelp(stringLiteral: CommonHelp.threads)) var threads: Int = 2
    @Option(help: "Output JSON file (default runs/speed/<budget name>.json).") var out: String?

    func validate() throws {
        guard batch >= 1, rounds >= 2, warmup >= 0, threads >= 1 else {
            throw ValidationError("--batch and --threads must be ≥ 1, --rounds ≥ 2, --warmup ≥ 0")
        }
        guard Self.pairs.keys.contains(pair) else {
            throw ValidationError("--pair must be one of \(Self.pairs.keys.sorted().joined(separator: ", ")), got '\(pair)'")
        }
        if let pairing = Self.pairs[pair], let defaultArms = pairing.defaultArms {
            for arm in parsedArms where (try? Method.named(arm))?.base != pair {
                throw ValidationError("--arms: '\(arm)' is not an arm of \(pair) (\(defaultArms.joined(separator: ", ")), ...; "
                                      + "patchbench methods lists them)")
            }
        } else if arms != nil {
            let withArms = Self.pairs.filter { $0.value.defaultArms != nil }.keys.sorted()
            throw ValidationError("--arms goes with --pair \(withArms.joined(separator: " or ")), not \(pair)")
        }
        if let grids, parsedGrids(grids).isEmpty || !parsedGrids(grids).allSatisfy({ $0 >= 4 }) {
            throw ValidationError("--grids must be comma-separated integers ≥ 4, got '\(grids)'")
        }
        guard parsedDecoders != nil else { throw ValidationError("--decoders must list budget and/or paper, got '\(decoders)'") }
    }

    /// Each pair's baseline, and the arms it times by default where --arms applies (lomar has
    /// its own measurement, below).
    static let pairs: [String: (baseline: Method, defaultArms: [String]?)] = [
        "lomar": (.mae, nil), "densecl": (.mocov2, nil),
        "randsac": (.mae, ["randsac", "randsac-blob"]), "selfpatch": (.dino, ["selfpatch", "dino-ca"]),
    ]

    var parsedArms: [String] {
        arms.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            ?? Self.pairs[pair]?.defaultArms ?? [pair]
    }

    func parsedGrids(_ text: String) -> [Int] {
        text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
    var parsedDecoders: [SpeedComparison.Decoder]? {
        let names = decoders.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let parsed = names.compactMap(SpeedComparison.Decoder.init(rawValue:))
        return parsed.count == names.count && !parsed.isEmpty ? parsed : nil
    }

    func run() throws {
        let b = try Budget.load(path: Budget.path(for: budget))
        let path = out ?? "runs/speed/\(SpeedFile.fileName(budget: b.name, method: pair))"
        if pair != "lomar" {
            let arms = parsedArms, baseline = Self.pairs[pair]!.baseline
            let grid = parsedGrids(grids ?? "\(b.encoder.imageSize / b.encoder.patchSize)")
            var table: [(String, SpeedComparison.Row)] = []
            for name in arms {
                let method = try Method.named(name)
                let rows = try SpeedComparison.measurePair(method: method, baseline: baseline, budget: b, grids: grid, batch: batch,
                                                           warmup: warmup, rounds: rounds, threads: threads) { print($0) }
                // Named for the arm it times (for densecl the pair's name): --out only for a single arm.
                let file = (arms.count == 1 ? out : nil) ?? "runs/speed/\(SpeedFile.fileName(budget: b.name, method: name))"
                try SpeedComparison.write(rows, budget: b.name, methods: SpeedFile.Methods(method: name, baseline: baseline.name),
                                          to: file)
                print("wrote \(file)")
                table += rows.map { (name, $0) }
            }
            print("| method | grid | image | \(baseline) img/s | method img/s | method/\(baseline) | FLOP ratio |")
            print("|---|---|---|---|---|---|---|")
            for (name, r) in table {
                let base = SpeedComparison.median(r.baselineImagesPerSecond), rate = SpeedComparison.median(r.methodImagesPerSecond)
                print("| \(name) | \(r.grid) | \(r.imageSize) | \(String(format: "%.1f", base)) | \(String(format: "%.1f", rate)) | "
                      + "\(String(format: "%.3f", r.speedup))x | "
                      + "\(String(format: "%.3f", r.flopRatio))x |")
            }
            return
        }
        let rows = try SpeedComparison.measure(budget: b, grids: parsedGrids(grids ?? "8,14,24,28"), decoders: parsedDecoders!,
                                               batch: batch, warmup: warmup, rounds: rounds, threads: threads) { print($0) }
        try SpeedComparison.write(rows, budget: b.name, methods: SpeedFile.Methods(method: "lomar", baseline: "mae"), to: path)
        print("| grid | image | window | MAE decoder | MAE img/s | LoMaR img/s | LoMaR/MAE | FLOP ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows {
            let mae = SpeedComparison.median(r.baselineImagesPerSecond), lomar = SpeedComparison.median(r.methodImagesPerSecond)
            print("| \(r.grid) | \(r.imageSize) | \(r.windowSize ?? 0)x\(r.windowCount ?? 0) | "
                  + "\(r.decoderDimension ?? 0)x\(r.decoderDepth ?? 0) | \(String(format: "%.1f", mae)) | \(String(format: "%.1f", lomar)) | "
                  + "\(String(format: "%.2f", r.speedup))x | "
                  + "\(String(format: "%.2f", r.flopRatio))x |")
        }
        print("wrote \(path)")
    }
}
