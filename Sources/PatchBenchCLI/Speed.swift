import ArgumentParser
import Foundation
import Harness

/// `patchbench speed`: LoMaR's and MAE's pretraining images/s over grid sizes, and their ratio.
struct Speed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure MAE's and LoMaR's pretraining images/s over grid sizes and write the ratio.",
        discussion: """
            For each grid (patches per side; image = grid x patch size) both objectives
            run full training steps (forward, backward, AdamW) on synthetic images with
            the budget's encoder, MAE decoder and LoMaR settings (window 4 on grids
            below 14, else 7; 4 windows); the rate is batch / median step time after
            warm-up steps. Writes one row per grid with LoMaR/MAE speedup beside the
            paper's 3.1x at 448 px (schema patchbench.speed/1). Time on a quiet machine;
            the numbers are only comparable within one run.
            Example: patchbench speed --budget tiny --grids 8,16,28 --out
            runs/speed/lomar-vs-mae.json
            """)

    @Option(help: "Budget name or budget .json path (encoder and method settings).") var budget: String = "tiny"
    @Option(help: "Comma-separated grid sizes (patches per side).") var grids: String = "8,16,28"
    @Option(help: "Images per step.") var batch: Int = 16
    @Option(help: "Untimed warm-up steps per method and grid.") var warmup: Int = 2
    @Option(help: "Timed steps per method and grid (median is reported).") var steps: Int = 5
    @Option(help: "Threads for OpenBLAS and the kernels.") var threads: Int = 2
    @Option(help: "Output JSON file.") var out: String = "runs/speed/lomar-vs-mae.json"

    func validate() throws {
        guard batch >= 1, steps >= 1, warmup >= 0, threads >= 1 else {
            throw ValidationError("--batch, --steps and --threads must be ≥ 1, --warmup ≥ 0")
        }
        guard parsedGrids.count > 0, parsedGrids.allSatisfy({ $0 >= 4 }) else {
            throw ValidationError("--grids must be comma-separated integers ≥ 4, got '\(grids)'")
        }
    }

    var parsedGrids: [Int] { grids.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        let b = try Budget.load(path: budget.hasSuffix(".json") ? budget : Budget.path(named: budget))
        let rows = try SpeedComparison.measure(budget: b, grids: parsedGrids, batch: batch, warmup: warmup, steps: steps,
                                           threads: threads) { print($0) }
        try SpeedComparison.write(rows, budget: b.name, to: out)
        print("| grid | image | window | MAE img/s | LoMaR img/s | LoMaR/MAE | paper |")
        print("|---|---|---|---|---|---|---|")
        for r in rows {
            print("| \(r.grid) | \(r.imageSize) | \(r.windowSize)x\(r.windowCount) | \(r.maeImagesPerSec) | "
                  + "\(r.lomarImagesPerSec) | \(String(format: "%.2f", r.speedup))x | \(r.paperSpeedup)x at 448 px |")
        }
        print("wrote \(out)")
    }
}
