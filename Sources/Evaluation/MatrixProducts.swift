import TensorCore

/// Row-major matrix products through TensorCore's GEMM (OpenBLAS, split into fixed blocks on
/// PatchBench's workers so results do not depend on the thread count). Shapes follow BLAS: C [m, n] = α·op(A)·op(B) + β·C
/// with op(A) [m, k] and op(B) [k, n]; leading dimensions are the row lengths as stored.
enum MatrixProducts {
    static func sgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                      alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        Float.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    static func dgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                      alpha: Double = 1, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                      beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int) {
        Double.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// Shape checks shared by the heads: features are [N, D] row-major, labels [N] in 0..<classes.
enum InputChecks {
    static func features(_ values: [Float], rows: Int, dimension: Int, name: String) throws {
        guard dimension > 0, rows > 0 else {
            throw EvaluationError.invalidInput("\(name): need at least one row and one feature, got [\(rows), \(dimension)]")
        }
        guard values.count == rows * dimension else {
            throw EvaluationError.invalidInput(
                "\(name): \(values.count) values do not form [\(rows), \(dimension)] features")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw EvaluationError.invalidInput("\(name): non-finite feature at row \(bad / dimension), column \(bad % dimension)")
        }
    }

    static func labels(_ labels: [Int32], classes: Int, name: String) throws {
        guard classes > 0 else { throw EvaluationError.invalidInput("\(name): classes must be positive") }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw EvaluationError.invalidInput("\(name): label \(labels[bad]) at row \(bad) is outside 0..<\(classes)")
        }
    }
}
