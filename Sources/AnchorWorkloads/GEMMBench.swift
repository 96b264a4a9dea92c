import CBLAS
import Foundation
import TensorCore

/// sgemm GFLOP/s at the ViT's shapes: PatchBench's `FloatGEMM` (its fastest path, one block of
/// C per worker) against OpenBLAS's own threading at the same shapes, each also as a share of
/// the FMA peak of the path's vector width measured on as many threads. Raw OpenBLAS is
/// measured last, after setting its thread count up, so this must run in its own process
/// (`patchbench bench --workload sgemm`) with no other GEMM in flight.
public struct GEMMMeasurement: Codable {
    public var workload: String
    public var m: Int
    public var k: Int
    public var n: Int
    public var trans_a: Bool
    public var trans_b: Bool
    public var threads: Int
    public var gflops_patchbench: Double
    public var gflops_openblas: Double
    public var ratio: Double
    /// Measured FMA peak (GFLOP/s) of `gemm_path`'s vector width on `threads` threads.
    public var peak_gflops: Double
    public var percent_of_peak_patchbench: Double
    public var percent_of_peak_openblas: Double
    public var gemm_path: String
    public var blas_core: String
}

public enum GEMMBench {
    /// (M, K, N, op(A) = Aᵀ, op(B) = Bᵀ): the tiny ViT at batch 64 (4160 = 64 × 65 tokens rows):
    /// qkv, proj and fc1 forward (x·Wᵀ), fc2's input gradient, fc1's weight gradient (dYᵀ·X),
    /// the four plain products of the last version, and 1024³.
    public static let shapes: [(m: Int, k: Int, n: Int, transA: Bool, transB: Bool)] = [
        (4160, 192, 576, false, true), (4160, 192, 192, false, true), (4160, 192, 768, false, true),
        (4160, 768, 192, false, false), (768, 4160, 192, true, false),
        (4160, 192, 576, false, false), (4160, 192, 192, false, false), (4160, 192, 768, false, false),
        (1024, 1024, 1024, false, false),
    ]

    public static func measure(threads: Int, repetitions: Int = 20) -> [GEMMMeasurement] {
        var rng = RandomStream(seed: 1)
        let data = shapes.map { shape -> ([Float], [Float], [Float]) in
            ((0..<(shape.m * shape.k)).map { _ in Float(rng.nextNormal()) },
             (0..<(shape.k * shape.n)).map { _ in Float(rng.nextNormal()) },
             [Float](repeating: 0, count: shape.m * shape.n))
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
        let path = FloatGEMM.path
        let peak = (path == .reference ? FloatGEMM.Path.avx2 : path).measuredPeakGFLOPs(threads: threads)
        var oursTimes: [Double] = []
        for (i, s) in shapes.enumerated() {
            var (a, b, c) = data[i]
            oursTimes.append(median {
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    Float.gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, a: pa.baseAddress!,
                               lda: s.transA ? s.m : s.k, b: pb.baseAddress!, ldb: s.transB ? s.k : s.n, beta: 0,
                               c: pc.baseAddress!, ldc: s.n)
                } } }
            })
        }
        // OpenBLAS's own threading afterwards (its idle threads spin for a while after a call,
        // which would disturb PatchBench's workers if measured first).
        openblas_set_num_threads(Int32(threads))
        var raw: [Double] = []
        for (i, s) in shapes.enumerated() {
            var (a, b, c) = data[i]
            raw.append(median {
                cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans, s.transB ? CblasTrans : CblasNoTrans,
                            Int32(s.m), Int32(s.n), Int32(s.k), 1, &a, Int32(s.transA ? s.m : s.k),
                            &b, Int32(s.transB ? s.k : s.n), 0, &c, Int32(s.n))
            })
        }
        func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
        return shapes.enumerated().map { i, s in
            let flops = 2 * Double(s.m) * Double(s.n) * Double(s.k)
            let g1 = flops / oursTimes[i] / 1e9, g2 = flops / raw[i] / 1e9
            let ops = (s.transA ? "t" : "n") + (s.transB ? "t" : "n")
            return GEMMMeasurement(
                workload: "sgemm-\(s.m)x\(s.k)x\(s.n)-\(ops)", m: s.m, k: s.k, n: s.n, trans_a: s.transA,
                trans_b: s.transB, threads: threads, gflops_patchbench: round1(g1), gflops_openblas: round1(g2),
                ratio: (g1 / g2 * 100).rounded() / 100, peak_gflops: round1(peak),
                percent_of_peak_patchbench: round1(100 * g1 / peak), percent_of_peak_openblas: round1(100 * g2 / peak),
                gemm_path: path.rawValue, blas_core: BLAS.coreName)
        }
    }
}
