import Foundation
import TensorCore

/// The class-diagonal blocks of the multinomial logistic loss's Hessian, factorised once and
/// used as L-BFGS's initial inverse Hessian (preconditioned L-BFGS).
///
/// Why: on standardised ViT features the weakly regularised end of the C grid is badly
/// conditioned in two ways — the features are strongly correlated, and once most rows are
/// classified confidently only the few uncertain rows carry curvature. Plain L-BFGS then stops
/// at its iteration cap without reaching the gradient tolerance (measured on MAE tiny CLS
/// features, 48,000 × 192: C ≥ 0.01 all ran to 500 iterations). Block c of the Hessian,
///
///   H_c = (1/n) Σᵢ pᵢc (1 − pᵢc) x̃ᵢ x̃ᵢᵀ + diag(λ, …, λ, 0),   x̃ᵢ = [xᵢ, 1],  λ = 1 / (C n),
///
/// captures both (the coupling between classes, −pᵢc pᵢc′ x̃ᵢ x̃ᵢᵀ, is left out); with it
/// every C of the default grid reaches the tolerance, in ~1,800 loss evaluations instead of
/// ~8,200 for the whole sweep. Only the search direction changes: the objective, the stopping
/// test (max |∇f| ≤ gtol on the original parameters) and therefore the minimiser do not.
///
/// Rows with pᵢc (1 − pᵢc) ≤ `curvatureFloor` are left out of block c: each would add at most
/// that weight, and at large C they are most rows (a cheaper, still positive definite block).
public struct ClassBlockPreconditioner {
    /// D + 1 (features and the intercept).
    public let blockSize: Int
    public let classes: Int
    /// Lower Cholesky factors of the K blocks, [K, D+1, D+1] row-major.
    private let factors: [Double]
    /// Their transposes, so that the backward solve reads rows, not columns (the same products
    /// in the same order: only the memory access changes).
    private let transposedFactors: [Double]

    /// Rows whose weight pᵢc (1 − pᵢc) is at most this are left out of block c (max weight 0.25).
    public static let curvatureFloor = 1e-3

    /// Builds the blocks at θ for `loss` (θ packed as the loss's parameters).
    public init(loss: MultinomialLogisticLoss, at parameters: [Double]) {
        let n = loss.sampleCount, d = loss.dimension, k = loss.classes, size = d + 1
        let probabilities = loss.probabilities(parameters)
        let penalty = 1 / (loss.inverseStrength * Double(n))
        var weighted = [Double](repeating: 0, count: n * size)
        var blocks = [Double](repeating: 0, count: k * size * size)
        for c in 0..<k {
            // Rows sqrt(w) · [x, 1] of the curved rows, in row order.
            var rows = 0
            loss.features.withUnsafeBufferPointer { x in
                for i in 0..<n {
                    let p = probabilities[i * k + c]
                    let weight = p * (1 - p)
                    guard weight > Self.curvatureFloor else { continue }
                    let root = weight.squareRoot()
                    let source = x.baseAddress! + i * d
                    for j in 0..<d { weighted[rows * size + j] = root * source[j] }
                    weighted[rows * size + d] = root
                    rows += 1
                }
            }
            blocks.withUnsafeMutableBufferPointer { all in
                let block = all.baseAddress! + c * size * size
                if rows > 0 {
                    weighted.withUnsafeBufferPointer { w in
                        MatrixProducts.dgemm(transposeA: true, m: size, n: size, k: rows, alpha: 1 / Double(n),
                                             a: w.baseAddress!, lda: size, b: w.baseAddress!, ldb: size,
                                             c: block, ldc: size)
                    }
                }
                for j in 0..<d { block[j * size + j] += penalty }
            }
        }
        // The K factorisations are independent: one class per worker chunk, the same bits for any
        // thread count.
        var factors = [Double](repeating: 0, count: k * size * size)
        var transposed = [Double](repeating: 0, count: k * size * size)
        factors.withUnsafeMutableBufferPointer { f in
            transposed.withUnsafeMutableBufferPointer { t in
                let lower = SendablePointer(f.baseAddress!), upper = SendablePointer(t.baseAddress!)
                Parallel.forEachChunk(k, costPerItem: size * size * size / 6) { range in
                    for c in range {
                        let offset = c * size * size
                        let factor = Self.choleskyWithRidge(Array(blocks[offset..<(offset + size * size)]), size: size)
                        for i in 0..<size {
                            for j in 0...i {
                                lower.pointer[offset + i * size + j] = factor[i * size + j]
                                upper.pointer[offset + j * size + i] = factor[i * size + j]
                            }
                        }
                    }
                }
            }
        }
        self.blockSize = size
        self.classes = k
        self.factors = factors
        self.transposedFactors = transposed
    }

    /// v ← M v with M = blockdiag(H_c)⁻¹; v packed as θ: [W (D×K row-major), b (K)], so column c
    /// of the [D+1, K] matrix it forms is class c's block. Per class, L y = v_c and then Lᵀ x = y
    /// by substitution; four (then two) classes are solved side by side, since each substitution's
    /// sums are chains of dependent subtractions and the classes' chains are independent (each
    /// class's bits are those of solving it alone).
    public func apply(_ vector: inout [Double]) {
        let size = blockSize, k = classes
        precondition(vector.count == size * k, "vector must be [(D+1)K]")
        vector.withUnsafeMutableBufferPointer { v in
            factors.withUnsafeBufferPointer { lower in
                transposedFactors.withUnsafeBufferPointer { upper in
                    let target = SendablePointer(v.baseAddress!)
                    let l = SendablePointer(UnsafeMutablePointer(mutating: lower.baseAddress!))
                    let u = SendablePointer(UnsafeMutablePointer(mutating: upper.baseAddress!))
                    // Classes split over the workers (each writes its own classes' entries).
                    Parallel.forEachChunk(k, costPerItem: 2 * size * size) { range in
                        var c = range.lowerBound
                        for width in [4, 2, 1] {
                            while c + width <= range.upperBound {
                                Self.substitute(target.pointer + c, stride: k, lower: l.pointer + c * size * size,
                                                upper: u.pointer + c * size * size, size: size, classes: width)
                                c += width
                            }
                        }
                    }
                }
            }
        }
    }

    /// `classes` (1, 2 or 4) consecutive classes: v (every `stride`-th value, class c at v + c)
    /// ← L⁻ᵀ L⁻¹ v per class; `lower` = L, `upper` = Lᵀ, [size, size] row-major per class.
    private static func substitute(_ v: UnsafeMutablePointer<Double>, stride k: Int, lower: UnsafePointer<Double>,
                                   upper: UnsafePointer<Double>, size: Int, classes: Int) {
        for i in 0..<size {
            eliminate(v, stride: k, row: i, of: lower + i * size, blockSize: size * size, over: 0..<i, classes: classes)
        }
        for i in Swift.stride(from: size - 1, through: 0, by: -1) {
            eliminate(v, stride: k, row: i, of: upper + i * size, blockSize: size * size, over: (i + 1)..<size,
                      classes: classes)
        }
    }

    /// One substitution step for each class c: vᵢ ← (vᵢ − Σⱼ rⱼ vⱼ) / rᵢ over j in `range`, in order,
    /// with r the factor row `row` of class c (at `factorRow` + c · blockSize).
    @inline(__always)
    private static func eliminate(_ v: UnsafeMutablePointer<Double>, stride k: Int, row i: Int,
                                  of factorRow: UnsafePointer<Double>, blockSize: Int, over range: Range<Int>,
                                  classes: Int) {
        let target = v + i * k
        let r0 = factorRow, r1 = r0 + blockSize, r2 = r1 + blockSize, r3 = r2 + blockSize
        switch classes {
        case 4:
            var s0 = target[0], s1 = target[1], s2 = target[2], s3 = target[3]
            for j in range {
                let x = v + j * k
                s0 -= r0[j] * x[0]
                s1 -= r1[j] * x[1]
                s2 -= r2[j] * x[2]
                s3 -= r3[j] * x[3]
            }
            target[0] = s0 / r0[i]
            target[1] = s1 / r1[i]
            target[2] = s2 / r2[i]
            target[3] = s3 / r3[i]
        case 2:
            var s0 = target[0], s1 = target[1]
            for j in range {
                let x = v + j * k
                s0 -= r0[j] * x[0]
                s1 -= r1[j] * x[1]
            }
            target[0] = s0 / r0[i]
            target[1] = s1 / r1[i]
        default:
            precondition(classes == 1, "substitution solves 1, 2 or 4 classes at once")
            var sum = target[0]
            for j in range { sum -= r0[j] * v[j * k] }
            target[0] = sum / r0[i]
        }
    }

    /// Lower Cholesky factor of a symmetric positive semi-definite block. A block that is not
    /// numerically positive definite (an intercept no curved row reaches, a constant feature)
    /// gets a ridge of 10⁻¹⁰ × its mean diagonal, raised tenfold until the factorisation succeeds.
    public static func choleskyWithRidge(_ matrix: [Double], size: Int) -> [Double] {
        var meanDiagonal = 0.0
        for i in 0..<size { meanDiagonal += matrix[i * size + i] }
        meanDiagonal = max(meanDiagonal / Double(size), Double.leastNormalMagnitude)
        var ridge = 0.0
        while true {
            if let factor = cholesky(matrix, size: size, ridge: ridge) { return factor }
            ridge = ridge == 0 ? 1e-10 * meanDiagonal : ridge * 10
        }
    }

    /// L with L Lᵀ = A + ridge·I, or nil when a pivot is not positive.
    ///
    /// Each entry is the textbook sum, lᵣⱼ = (aᵣⱼ − Σₘ₌₀^{j−1} lᵣₘ lⱼₘ) / lⱼⱼ, in that order of m,
    /// and the bits are those of the row-by-row loop. The rows are taken four at a time: their
    /// entries left of the group are independent sums over rows already finished, so they are
    /// computed side by side (one read of row j serves four rows, which stay in cache), and the
    /// group's own triangle then row by row.
    static func cholesky(_ matrix: [Double], size: Int, ridge: Double) -> [Double]? {
        var factor = [Double](repeating: 0, count: size * size)
        let factored = factor.withUnsafeMutableBufferPointer { buffer in
            matrix.withUnsafeBufferPointer { a in
                let l = buffer.baseAddress!
                // Entry (r, j), j ≤ r, from the finished rows j and the entries left of it in row r.
                func entry(_ r: Int, _ j: Int) -> Bool {
                    let lr = l + r * size, lj = l + j * size
                    var sum = a[r * size + j] + (r == j ? ridge : 0)
                    for m in 0..<j { sum -= lr[m] * lj[m] }
                    if r == j {
                        guard sum > 0, sum.isFinite else { return false }
                        lr[r] = sum.squareRoot()
                    } else {
                        lr[j] = sum / lj[j]
                    }
                    return true
                }
                var i = 0
                while i < size {
                    let rows = min(4, size - i)
                    if rows == 4 {
                        let l0 = l + i * size, l1 = l0 + size, l2 = l1 + size, l3 = l2 + size
                        for j in 0..<i {
                            let lj = l + j * size
                            // + 0 as the textbook loop adds its (zero) ridge off the diagonal.
                            var s0 = a[i * size + j] + 0, s1 = a[(i + 1) * size + j] + 0
                            var s2 = a[(i + 2) * size + j] + 0, s3 = a[(i + 3) * size + j] + 0
                            for m in 0..<j {
                                let x = lj[m]
                                s0 -= l0[m] * x
                                s1 -= l1[m] * x
                                s2 -= l2[m] * x
                                s3 -= l3[m] * x
                            }
                            let pivot = lj[j]
                            l0[j] = s0 / pivot
                            l1[j] = s1 / pivot
                            l2[j] = s2 / pivot
                            l3[j] = s3 / pivot
                        }
                    } else {
                        for r in i..<(i + rows) { for j in 0..<i { _ = entry(r, j) } }
                    }
                    for r in i..<(i + rows) {
                        for j in i...r { guard entry(r, j) else { return false } }
                    }
                    i += rows
                }
                return true
            }
        }
        return factored ? factor : nil
    }
}
