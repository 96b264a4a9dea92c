import CBLAS
import Foundation

/// The BLAS calls of PatchBench (OpenBLAS's CBLAS, row-major) and its thread setting.
public enum BLAS {
    /// Pins OpenBLAS's and the kernels' thread counts. Bits of a GEMM depend on the OpenBLAS
    /// kernel and, for some kernels, on the thread count: record both with every result.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "thread count must be ≥ 1")
        openblas_set_num_threads(Int32(n))
        Parallel.workers = n
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// The OpenBLAS kernel in use (follows OPENBLAS_CORETYPE when set).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var config: String { String(cString: openblas_get_config()) }

    /// C = alpha·op(A)·op(B) + beta·C, row-major; op(X) = Xᵀ when the flag is set.
    /// A is M×K after op, B is K×N after op, C is M×N; lda/ldb/ldc are row strides.
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 { if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }; return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 { if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }; return }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Generic entry so kernels written over `KernelScalar` can call GEMM.
extension KernelScalar {
    @inline(__always)
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        if Self.self == Float.self {
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha as! Float,
                      a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda,
                      b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                      beta: beta as! Float, c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc)
        } else {
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha as! Double,
                      a: UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda: lda,
                      b: UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb: ldb,
                      beta: beta as! Double, c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc: ldc)
        }
    }
}
