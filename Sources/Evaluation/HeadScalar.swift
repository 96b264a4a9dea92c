import CBLAS
import Foundation

/// The element type of the trainable heads: Float for training, Double for the finite-difference
/// gradient checks. It supplies the BLAS product and exp/log of its precision.
public protocol HeadScalar: BinaryFloatingPoint, Sendable {
    /// Row-major C [m, n] = op(A) op(B) + β C (sgemm or dgemm).
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    static func exponential(_ x: Self) -> Self
    static func logarithm(_ x: Self) -> Self
}

extension Float: HeadScalar {
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>,
                            lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                            c: UnsafeMutablePointer<Float>, ldc: Int) {
        MatrixProducts.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    public static func exponential(_ x: Float) -> Float { Foundation.expf(x) }
    public static func logarithm(_ x: Float) -> Float { Foundation.logf(x) }
}

extension Double: HeadScalar {
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Double>,
                            lda: Int, b: UnsafePointer<Double>, ldb: Int, beta: Double,
                            c: UnsafeMutablePointer<Double>, ldc: Int) {
        MatrixProducts.dgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    public static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    public static func logarithm(_ x: Double) -> Double { Foundation.log(x) }
}

/// A dense layer y = x W + b on rows, with its backward. x: [N, D], W: [D, K], b: [K].
enum DenseLayer {
    static func forward<T: HeadScalar>(_ x: [T], rows: Int, dimension: Int, weights: [T], bias: [T]) -> [T] {
        let k = bias.count
        precondition(x.count == rows * dimension && weights.count == dimension * k, "dense layer shapes")
        var y = [T](repeating: 0, count: rows * k)
        for i in 0..<rows { for c in 0..<k { y[i * k + c] = bias[c] } }
        x.withUnsafeBufferPointer { xp in
            weights.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { yp in
                    T.gemm(transposeA: false, transposeB: false, m: rows, n: k, k: dimension, a: xp.baseAddress!,
                           lda: dimension, b: w.baseAddress!, ldb: k, beta: 1, c: yp.baseAddress!, ldc: k)
                }
            }
        }
        return y
    }

    /// Adds ∂L/∂W = xᵀ ∂L/∂y and ∂L/∂b = Σ_rows ∂L/∂y into the gradients (accumulating, `+=`).
    static func backward<T: HeadScalar>(_ x: [T], rows: Int, dimension: Int, outputGradient: [T],
                                        weightGradient: inout [T], biasGradient: inout [T]) {
        let k = biasGradient.count
        x.withUnsafeBufferPointer { xp in
            outputGradient.withUnsafeBufferPointer { g in
                weightGradient.withUnsafeMutableBufferPointer { w in
                    T.gemm(transposeA: true, transposeB: false, m: dimension, n: k, k: rows, a: xp.baseAddress!,
                           lda: dimension, b: g.baseAddress!, ldb: k, beta: 1, c: w.baseAddress!, ldc: k)
                }
            }
        }
        for i in 0..<rows { for c in 0..<k { biasGradient[c] += outputGradient[i * k + c] } }
    }

    /// ∂L/∂x = ∂L/∂y Wᵀ [N, D] for ∂L/∂y [N, K].
    static func inputGradient<T: HeadScalar>(_ outputGradient: [T], rows: Int, dimension: Int, weights: [T]) -> [T] {
        let k = weights.count / dimension
        precondition(outputGradient.count == rows * k && weights.count == dimension * k, "dense layer shapes")
        var result = [T](repeating: 0, count: rows * dimension)
        outputGradient.withUnsafeBufferPointer { g in
            weights.withUnsafeBufferPointer { w in
                result.withUnsafeMutableBufferPointer { r in
                    T.gemm(transposeA: false, transposeB: true, m: rows, n: dimension, k: k, a: g.baseAddress!, lda: k,
                           b: w.baseAddress!, ldb: k, beta: 0, c: r.baseAddress!, ldc: dimension)
                }
            }
        }
        return result
    }
}
