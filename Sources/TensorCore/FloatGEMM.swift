import Dispatch
import FixedOrderGEMM

/// PatchBench's float32 matrix product (the C target FixedOrderGEMM): every output element is
/// one fused multiply-add chain over k in ascending order, so its bits are the same on the
/// AVX-512, AVX2 and reference paths, for every thread count and every split of C. Results and
/// goldens therefore no longer depend on which CPU ran them. Float64 products stay on OpenBLAS
/// (`BLAS`): the gradient checks and the linear probe, whose bits follow OpenBLAS's kernel.
public enum FloatGEMM {
    /// Names the accumulation order. Bits depend on it, not on the path: change it whenever the
    /// order in FixedOrderGEMM.h changes, so goldens written under the old order stop matching.
    public static let order = "fixed-order-fma/1"

    /// A code path of the product. All give the same bits; they differ only in speed.
    public enum Path: String, CaseIterable, Sendable {
        case reference, avx2 = "avx2-fma", avx512 = "avx512f"

        var c: pb_gemm_path {
            switch self {
            case .reference: PB_GEMM_REFERENCE
            case .avx2: PB_GEMM_AVX2
            case .avx512: PB_GEMM_AVX512
            }
        }

        /// Whether this CPU can run the path.
        public var isSupported: Bool { pb_gemm_path_supported(c) != 0 }

        /// GFLOP/s of independent fmas at this path's vector width on `threads` threads at once
        /// (best of five 0.1 s rounds): the ceiling a product on this path can approach. 0 for
        /// the reference path.
        public func measuredPeakGFLOPs(threads: Int) -> Double {
            guard self != .reference, isSupported else { return 0 }
            let iterations = 4_000_000
            var best = 0.0
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                DispatchQueue.concurrentPerform(iterations: threads) { _ in _ = pb_fma_peak_flops(c, iterations) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                best = max(best, Double(threads) * Double(iterations) * flopsPerIteration / seconds / 1e9)
            }
            return best
        }

        var flopsPerIteration: Double { self == .avx512 ? 2 * 16 * 12 : 2 * 8 * 12 }
    }

    /// The fastest path this CPU supports.
    public static let bestPath: Path = {
        switch pb_gemm_best_path() {
        case PB_GEMM_AVX512: .avx512
        case PB_GEMM_AVX2: .avx2
        default: .reference
        }
    }()

    /// Test switch: runs every product on the given path (it must be supported). Not a user
    /// knob — the path cannot change a result, only the time it takes.
    @_spi(GEMMPaths) nonisolated(unsafe) public static var forcedPath: Path?

    /// The path products run on now.
    public static var path: Path { forcedPath ?? bestPath }

    /// GEMMs below this many multiply-adds run on the calling thread.
    static let splitThreshold = 1 << 21

    /// C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is M×K, op(B) is K×N, C is M×N; lda, ldb,
    /// ldc are stored row lengths. Large products are split into one block of C's rows (or
    /// columns, when rows are few) per kernel worker; the split cannot change a bit.
    /// C must not overlap A or B.
    public static func multiply(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        product(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                beta: beta, rowInit: nil, c: c, ldc: ldc)
    }

    /// C = R + alpha·op(A)·op(B) with every row of R equal to `rowInit` [N] (a linear layer's
    /// bias): the bits of filling C's rows with it and multiplying with beta = 1, without a pass
    /// over the whole of C first (`pb_sgemm_from_rows`). C is not read before it is written and
    /// must not overlap A, B or rowInit.
    public static func multiply(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                rowInit: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(!overlaps(c, rows: m, columns: n, stride: ldc, rowInit, rows: 1, columns: n, stride: n),
                     "gemm: the output overlaps the row it starts from")
        product(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                beta: 1, rowInit: rowInit, c: c, ldc: ldc)
    }

    private static func product(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                beta: Float, rowInit: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        precondition(lda >= (transA ? m : k) && ldb >= (transB ? k : n) && ldc >= n,
                     "gemm: leading dimensions lda \(lda), ldb \(ldb), ldc \(ldc) too small for m \(m), n \(n), k \(k)")
        precondition(!overlaps(c, rows: m, columns: n, stride: ldc, a, rows: transA ? k : m, columns: transA ? m : k, stride: lda)
                     && !overlaps(c, rows: m, columns: n, stride: ldc, b, rows: transB ? n : k, columns: transB ? k : n, stride: ldb),
                     "gemm: the output overlaps an input")
        let path = self.path.c
        // One block of C (its top-left corner at c), whose first column is column c0 of the whole.
        func block(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                   rows: Int, columns: Int, firstColumn c0: Int) {
            if let rowInit {
                pb_sgemm_from_rows(path, transA ? 1 : 0, transB ? 1 : 0, rows, columns, k, alpha, a, lda, b, ldb,
                                   rowInit + c0, c, ldc)
            } else {
                pb_sgemm(path, transA ? 1 : 0, transB ? 1 : 0, rows, columns, k, alpha, a, lda, b, ldb, beta, c, ldc)
            }
        }
        let splits = min(Parallel.workers, max(m, n))
        if splits <= 1 || m * n * k < splitThreshold {
            block(a, b, c, rows: m, columns: n, firstColumn: 0)
            return
        }
        let byRows = m >= n
        let pa = SendablePointer(UnsafeMutablePointer(mutating: a)), pb = SendablePointer(UnsafeMutablePointer(mutating: b))
        let pc = SendablePointer(c)
        DispatchQueue.concurrentPerform(iterations: splits) { s in
            if byRows {
                let r0 = m * s / splits, r1 = m * (s + 1) / splits
                block(pa.pointer + (transA ? r0 : r0 * lda), pb.pointer, pc.pointer + r0 * ldc,
                      rows: r1 - r0, columns: n, firstColumn: 0)
            } else {
                let c0 = n * s / splits, c1 = n * (s + 1) / splits
                block(pa.pointer, pb.pointer + (transB ? c0 * ldb : c0), pc.pointer + c0,
                      rows: m, columns: c1 - c0, firstColumn: c0)
            }
        }
    }

    static func overlaps(_ x: UnsafePointer<Float>, rows xr: Int, columns xc: Int, stride xs: Int,
                         _ y: UnsafePointer<Float>, rows yr: Int, columns yc: Int, stride ys: Int) -> Bool {
        guard xr > 0, xc > 0, yr > 0, yc > 0 else { return false }
        let xEnd = x + (xr - 1) * xs + xc, yEnd = y + (yr - 1) * ys + yc
        return x < yEnd && y < xEnd
    }
}
