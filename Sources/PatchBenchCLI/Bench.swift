import AnchorWorkloads
import ArgumentParser
import Foundation
@_spi(GEMMPaths) import TensorCore

/// `patchbench bench`: one workload of ../shared/bench/anchor_vit.py, one JSON line.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time one of the PyTorch anchor's workloads and print one JSON line.",
        discussion: """
            Runs a workload defined exactly as in ../shared/bench/anchor_vit.py (same shapes, batch, \
            AdamW settings, FLOP accounting and timing rule: warm-up steps, then the median of the \
            timed steps) and prints one JSON line with the anchor's field names (workload, \
            images_per_sec, step_ms_median, peak_rss_mib, gflops_per_sec, ...). \
            Compare with `python3 anchor_vit.py --threads N --only NAME` on the same machine, in the \
            same session, alternating runs. Run one workload per process so peak_rss_mib is its own. `--workload sgemm` prints \
            GFLOP/s and the share of the FMA peak at the ViT's GEMM shapes for PatchBench's GEMM \
            (gemm_path: the code path this CPU runs) and for OpenBLAS's own threading (one line per \
            shape). \
            Workloads: \(WorkloadSpec.all.map(\.name).joined(separator: ", ")).
            """)

    @Option(help: "Workload name (see the discussion).") var workload: String
    @Option(help: ArgumentHelp(stringLiteral: CommonHelp.threads)) var threads: Int = 2
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 3
    @Option(help: "Timed steps.") var steps: Int = 15
    /// Measurement only (hidden): times a GEMM path this CPU would not pick, e.g. the AVX2 path on
    /// an AVX-512 machine. Every path gives the same bits, so this changes no result.
    @Option(help: .private) var gemmPath: String?

    func validate() throws {
        guard WorkloadSpec.named(workload) != nil || workload == "sgemm" else {
            throw ValidationError("unknown workload '\(workload)'; choose one of \(WorkloadSpec.all.map(\.name).joined(separator: ", "))")
        }
        guard threads >= 1, steps >= 1, warmup >= 0 else { throw ValidationError("threads and steps must be ≥ 1, warmup ≥ 0") }
        if let gemmPath {
            guard let path = FloatGEMM.Path(rawValue: gemmPath), path.isSupported else {
                throw ValidationError("--gemm-path '\(gemmPath)': choose one this CPU supports: "
                    + FloatGEMM.Path.allCases.filter(\.isSupported).map(\.rawValue).joined(separator: ", "))
            }
        }
    }

    func run() throws {
        if let gemmPath { FloatGEMM.forcedPath = FloatGEMM.Path(rawValue: gemmPath) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        if workload == "sgemm" {
            for g in GEMMBench.measure(threads: threads) { print(String(decoding: try enc.encode(g), as: UTF8.self)) }
            return
        }
        let m = WorkloadRunner.measure(WorkloadSpec.named(workload)!, threads: threads, warmup: warmup, steps: steps)
        print(String(decoding: try enc.encode(m), as: UTF8.self))
    }
}
