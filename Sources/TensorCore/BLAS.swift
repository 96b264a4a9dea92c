import CBLAS
import Dispatch
import Foundation

/// The OpenBLAS calls of PatchBench (CBLAS, row-major), and the kernels' thread setting.
/// Float32 products run on PatchBench's own `FloatGEMM`; OpenBLAS serves the float64 ones
/// (gradient checks in Double, the linear probe), whose bits follow the OpenBLAS kernel that
/// OPENBLAS_CORETYPE selects (recorded as `coreName`).
public enum BLAS {
    /// Sets the number of worker threads. OpenBLAS itself always runs single-threaded:
    /// PatchBench splits every large float64 GEMM into a fixed number of row (or column)
    /// blocks and runs them on its own workers. The split depends only on the shape, so
    /// results are bit-identical for every thread count. This also avoids OpenBLAS's idle
    /// threads spinning in sched_yield against PatchBench's elementwise workers.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "thread count must be ≥ 1")
        _ = openBLASPinned
        Parallel.workers = n
    }

    /// OpenBLAS is set to one thread exactly once, before the first GEMM: changing its
    /// thread count while another thread is inside a GEMM is not safe in OpenBLAS 0.3.21.
    static let openBLASPinned: Void = { openblas_set_num_threads(1) }()

    /// Number of blocks a large float64 GEMM is split into, whatever the thread count.
    public static let gemmSplits = 2
    /// Float64 GEMMs below this many multiply-adds run as one call (splitting costs more than it gains).
    public static let gemmSplitThreshold = 1 << 21

    public static var threads: Int { Parallel.workers }
    /// OpenBLAS's own thread setting (1: PatchBench parallelises around it).
    public static var openBLASThreads: Int { Int(openblas_get_num_threads()) }
    /// The OpenBLAS kernel in use (follows OPENBLAS_CORETYPE when set).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var config: String { String(cString: openblas_get_config()) }

    /// OpenBLAS's x86-64 kernels that use AVX2 and FMA; on a CPU it does not recognise it falls
    /// back to an older one (0.3.21 runs Prescott, SSE3, on Sapphire Rapids).
    static let avx2Kernels: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"]

    /// The kernel OPENBLAS_CORETYPE asks for, as OpenBLAS reads it: nil when the variable is unset
    /// or empty (OpenBLAS 0.3.21 then picks the kernel itself: on a Zen 4 EPYC, Cooperlake either way).
    public static func requestedCoreType(in environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A warning for this process, or nil: see `slowKernelNote(core:coreTypeSet:cpuHasAVX2FMA:)`.
    public static var slowKernelNote: String? {
        slowKernelNote(core: coreName, coreTypeSet: requestedCoreType() != nil, cpuHasAVX2FMA: FloatGEMM.Path.avx2.isSupported)
    }

    /// When OpenBLAS picked a pre-AVX2 kernel by itself on a CPU with AVX2 and FMA, a sentence
    /// saying so: the linear probe then ran 2.1–2.5× slower on 768-d features (Sapphire Rapids Xeon,
    /// Prescott against Haswell; no slower on 192-d ones). The bits differ too, as with any kernel.
    /// nil when the kernel uses AVX2, when OPENBLAS_CORETYPE chose it, or when the CPU lacks AVX2.
    public static func slowKernelNote(core: String, coreTypeSet: Bool, cpuHasAVX2FMA: Bool) -> String? {
        guard !coreTypeSet, cpuHasAVX2FMA, !avx2Kernels.contains(core.lowercased()) else { return nil }
        return "OpenBLAS did not recognise this CPU and runs its \(core) kernel, without the CPU's AVX2 and FMA: "
            + "the linear probe can run up to 2.5x slower than with OPENBLAS_CORETYPE=Haswell (768-d features), "
            + "the kernel the goldens were written with (Documentation/gemm.md)"
    }

    /// C = alpha·op(A)·op(B) + beta·C in float64, row-major; op(X) = Xᵀ when the flag is set.
    /// A is M×K after op, B is K×N after op, C is M×N; lda/ldb/ldc are row strides.
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        _ = openBLASPinned
        if k == 0 { if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }; return }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Generic entry so kernels written over `KernelScalar` can call GEMM.
extension KernelScalar {
    /// C = alpha·op(A)·op(B) + beta·C, row-major; op(A) is M×K, op(B) is K×N; lda/ldb/ldc are
    /// the stored row lengths. Float: `FloatGEMM` (bits independent of CPU and threads).
    /// Double: OpenBLAS, split into `BLAS.gemmSplits` blocks of C's rows (or columns when there
    /// are too few rows) run on the kernel workers; see `BLAS.setThreads`.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        if Self.self == Float.self {
            FloatGEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha as! Float,
                               a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda,
                               b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                               beta: beta as! Float, c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self),
                               ldc: ldc)
            return
        }
        let splits = BLAS.gemmSplits
        if m * n * k < BLAS.gemmSplitThreshold || (m < 2 * splits && n < 2 * splits) {
            gemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: c, ldc: ldc)
            return
        }
        let byRows = m >= n || n < 2 * splits
        let pa = SendablePointer(UnsafeMutablePointer(mutating: a)), pb = SendablePointer(UnsafeMutablePointer(mutating: b))
        let pc = SendablePointer(c)
        let block: (Int) -> Void = { s in
            if byRows {
                let r0 = m * s / splits, r1 = m * (s + 1) / splits
                let aOff = transA ? r0 : r0 * lda
                gemmCall(transA: transA, transB: transB, m: r1 - r0, n: n, k: k, alpha: alpha, a: pa.pointer + aOff, lda: lda,
                         b: pb.pointer, ldb: ldb, beta: beta, c: pc.pointer + r0 * ldc, ldc: ldc)
            } else {
                let c0 = n * s / splits, c1 = n * (s + 1) / splits
                let bOff = transB ? c0 * ldb : c0
                gemmCall(transA: transA, transB: transB, m: m, n: c1 - c0, k: k, alpha: alpha, a: pa.pointer, lda: lda,
                         b: pb.pointer + bOff, ldb: ldb, beta: beta, c: pc.pointer + c0, ldc: ldc)
            }
        }
        if Parallel.workers > 1 {
            DispatchQueue.concurrentPerform(iterations: splits, execute: block)
        } else {
            for s in 0..<splits { block(s) }
        }
    }

    /// C = R + alpha·op(A)·op(B) with every row of R equal to `rowInit` [N] (a linear layer's
    /// bias). Float: `FloatGEMM`, which writes each tile's rows just before computing it; the bits
    /// are those of filling C's rows and multiplying with beta = 1, which Double does.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                            a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                            rowInit: UnsafePointer<Self>, c: UnsafeMutablePointer<Self>, ldc: Int) {
        if Self.self == Float.self {
            FloatGEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha as! Float,
                               a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda,
                               b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                               rowInit: UnsafeRawPointer(rowInit).assumingMemoryBound(to: Float.self),
                               c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc)
            return
        }
        for i in 0..<m { (c + i * ldc).update(from: rowInit, count: n) }
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: 1, c: c, ldc: ldc)
    }

    /// One float64 OpenBLAS call (the Float case never reaches here).
    @inline(__always)
    static func gemmCall(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha as! Double,
                  a: UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda: lda,
                  b: UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb: ldb,
                  beta: beta as! Double, c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc: ldc)
    }
}
