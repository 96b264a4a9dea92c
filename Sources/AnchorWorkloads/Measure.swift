import Foundation
import TensorCore

/// anchor_vit.py's timing rule: `warmup` untimed steps, then `steps` timed ones;
/// throughput = batch / median step time.
public struct WorkloadMeasurement: Codable {
    public var workload: String
    public var kind: String
    public var config: String
    public var batch: Int
    public var threads: Int
    public var images_per_sec: Double
    public var step_ms_median: Double
    public var step_ms_min: Double
    public var step_ms_max: Double
    public var flops_per_image: Double
    public var gflops_per_sec: Double
    public var peak_rss_mib: Double
    public var params: Int
    public var warmup: Int
    public var steps: Int
    public var last_loss: Double
    /// PatchBench's float32 GEMM path (avx512f, avx2-fma, reference).
    public var gemm_path: String
    public var implementation: String
}

public enum WorkloadRunner {
    public static func measure(_ spec: WorkloadSpec, threads: Int, warmup: Int = 3, steps: Int = 15) -> WorkloadMeasurement {
        BLAS.setThreads(threads)
        let w = PreparedWorkload(spec)
        var loss = 0.0
        for _ in 0..<warmup { loss = w.step() }
        var times: [Double] = []
        for _ in 0..<steps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            loss = w.step()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let ips = Double(spec.batch) / median
        let flops = spec.flopsPerImage.total
        return WorkloadMeasurement(
            workload: spec.name, kind: spec.kind.rawValue, config: spec.configName, batch: spec.batch, threads: threads,
            images_per_sec: round2(ips), step_ms_median: round2(median * 1e3), step_ms_min: round2(sorted[0] * 1e3),
            step_ms_max: round2(sorted.last! * 1e3), flops_per_image: flops, gflops_per_sec: round2(flops * ips / 1e9),
            peak_rss_mib: round2(ProcessMemory.peakResidentMiB()), params: w.parameterCount, warmup: warmup, steps: steps,
            last_loss: (loss * 1e5).rounded() / 1e5, gemm_path: FloatGEMM.path.rawValue, implementation: "patchbench")
    }

    static func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
}
