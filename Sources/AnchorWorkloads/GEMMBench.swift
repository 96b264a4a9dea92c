import CBLAS
import Foundation
import TensorCore

/// sgemm GFLOP/s at the ViT's shapes: PatchBench's GEMM (fixed row blocks on its own workers,
/// OpenBLAS single-threaded inside) against OpenBLAS's own threading at the same shapes.
/// Raw OpenBLAS is measured last, after setting its thread count back up, so this must run in
/// its own process (`patchbench bench --workload sgemm`) with no other GEMM in flight.
public struct GEMMMeasurement: Codable {
    public var workload: String
    public var m: Int
    public var k: Int
    public var n: Int
    public var threads: Int
    public var gflops_patchbench: Double
    public var gflops_openblas: Double
    public var ratio: Double
    public var blas_core: String
}

public enum GEMMBench {
    /// (M, K, N): activations [M, K] (64 images × 65 tokens) times a weight, and 1024³.
    public static let shapes = [(4160, 192, 576), (4160, 192, 192), (4160, 192, 768), (4160, 768, 192), (1024, 1024, 1024)]

    public static func measure(threads: Int, repetitions: Int = 20) -> [GEMMMeasurement] {
        var rng = RandomStream(seed: 1)
        let data = shapes.map { (m, k, n) -> ([Float], [Float], [Float]) in
            ((0..<(m * k)).map { _ in Float(rng.nextNormal()) }, (0..<(k * n)).map { _ in Float(rng.nextNormal()) },
             [Float](repeating: 0, count: m * n))
        }
        func median(_ body: () -> Void) -> Double {
            for _ in 0..<3 { body() }
            var t: [Double] = []
            for _ in 0..<repetitions {
                let s = DispatchTime.now().uptimeNanoseconds
                body()
                t.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
            }
            return t.sorted()[t.count / 2]
        }
        BLAS.setThreads(threads)
        var oursTimes: [Double] = []
        for (i, (m, k, n)) in shapes.enumerated() {
            var (a, b, c) = data[i]
            oursTimes.append(median {
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    Float.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: k,
                               b: pb.baseAddress!, ldb: n, beta: 0, c: pc.baseAddress!, ldc: n)
                } } }
            })
        }
        // OpenBLAS's own threading afterwards (its idle threads spin for a while after a call,
        // which would disturb PatchBench's workers if measured first).
        openblas_set_num_threads(Int32(threads))
        var raw: [Double] = []
        for (i, (m, k, n)) in shapes.enumerated() {
            var (a, b, c) = data[i]
            raw.append(median {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, &a, Int32(k),
                            &b, Int32(n), 0, &c, Int32(n))
            })
        }
        var out: [GEMMMeasurement] = []
        for (i, (m, k, n)) in shapes.enumerated() {
            let ours = oursTimes[i]
            let flops = 2 * Double(m) * Double(n) * Double(k)
            let g1 = (flops / ours / 1e9 * 10).rounded() / 10, g2 = (flops / raw[i] / 1e9 * 10).rounded() / 10
            out.append(GEMMMeasurement(workload: "sgemm-\(m)x\(k)x\(n)", m: m, k: k, n: n, threads: threads,
                                       gflops_patchbench: g1, gflops_openblas: g2,
                                       ratio: (g1 / g2 * 100).rounded() / 100, blas_core: BLAS.coreName))
        }
        return out
    }
}
