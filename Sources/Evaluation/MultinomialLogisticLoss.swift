import Foundation

/// The objective of scikit-learn's LogisticRegression(penalty='l2', C, solver='lbfgs') for
/// K ≥ 2 classes (multinomial, full K columns, unpenalised intercept):
///
///   f(W, b) = (1/n) Σᵢ [log Σ_c exp(zᵢc) − zᵢyᵢ] + (1 / (2 C n)) ‖W‖²,   z = X W + b
///
/// (sklearn's `l2_reg_strength = 1 / (C * sw_sum)` with unit sample weights).
/// Gradient: ∂f/∂W = (1/n) Xᵀ (P − Y) + W / (C n),  ∂f/∂b = (1/n) Σᵢ (Pᵢ − Yᵢ), P = softmax(z).
/// Parameters are packed as θ = [W (D×K row-major), b (K)].
public struct MultinomialLogisticLoss {
    /// [n, D] row-major, Double.
    public let features: [Double]
    /// [n] in 0..<classes.
    public let labels: [Int32]
    public let dimension: Int
    public let classes: Int
    /// C, inverse regularisation strength.
    public let inverseStrength: Double

    public var sampleCount: Int { labels.count }
    public var parameterCount: Int { (dimension + 1) * classes }

    public init(features: [Double], labels: [Int32], dimension: Int, classes: Int, inverseStrength: Double) {
        precondition(features.count == labels.count * dimension, "features must be [n, D]")
        precondition(inverseStrength > 0, "C must be positive")
        self.features = features
        self.labels = labels
        self.dimension = dimension
        self.classes = classes
        self.inverseStrength = inverseStrength
        scratchLogits = [Double](repeating: 0, count: labels.count * classes)
    }

    private var scratchLogits: [Double]

    /// Softmax probabilities P [n, K] at θ (what the Hessian's curvature weights are made of).
    public func probabilities(_ parameters: [Double]) -> [Double] {
        precondition(parameters.count == parameterCount, "θ must be [(D+1)K]")
        let n = sampleCount, k = classes
        var p = [Double](repeating: 0, count: n * k)
        computeLogits(parameters, into: &p)
        p.withUnsafeMutableBufferPointer { z in
            for i in 0..<n {
                let row = z.baseAddress! + i * k
                let inverseTotal = 1 / Self.exponentiateShifted(row, count: k)
                for c in 0..<k { row[c] *= inverseTotal }
            }
        }
        return p
    }

    /// row[c] ← exp(row[c] − max row) in place; returns Σ_c of the new values.
    @inline(__always)
    private static func exponentiateShifted(_ row: UnsafeMutablePointer<Double>, count k: Int) -> Double {
        var largest = row[0]
        for c in 1..<k { largest = max(largest, row[c]) }
        var total = 0.0
        for c in 0..<k { row[c] = Foundation.exp(row[c] - largest); total += row[c] }
        return total
    }

    /// Logits z [n, K] = X [n, D] · W [D, K] + b.
    private func computeLogits(_ parameters: [Double], into logits: inout [Double]) {
        let n = sampleCount, d = dimension, k = classes
        features.withUnsafeBufferPointer { x in
            parameters.withUnsafeBufferPointer { w in
                logits.withUnsafeMutableBufferPointer { z in
                    for i in 0..<n { for c in 0..<k { z[i * k + c] = w[d * k + c] } }
                    MatrixProducts.dgemm(m: n, n: k, k: d, a: x.baseAddress!, lda: d, b: w.baseAddress!, ldb: k,
                                         beta: 1, c: z.baseAddress!, ldc: k)
                }
            }
        }
    }

    /// f(θ); writes ∇f(θ) into `gradient` ([(D + 1) K]).
    public mutating func valueAndGradient(_ parameters: [Double], gradient: inout [Double]) -> Double {
        precondition(parameters.count == parameterCount && gradient.count == parameterCount, "θ must be [(D+1)K]")
        let n = sampleCount, d = dimension, k = classes
        computeLogits(parameters, into: &scratchLogits)
        // Cross-entropy; z becomes the residual (P − Y) / n in place.
        var crossEntropy = 0.0
        let inverseN = 1 / Double(n)
        scratchLogits.withUnsafeMutableBufferPointer { z in
            for i in 0..<n {
                let row = z.baseAddress! + i * k
                let total = Self.exponentiateShifted(row, count: k)
                let y = Int(labels[i])
                // log Σ exp(z) − z_y = log(total) − log(row[y]) with row[y] = exp(z_y − max)
                crossEntropy += Foundation.log(total) - Foundation.log(row[y])
                let inverseTotal = 1 / total
                for c in 0..<k { row[c] = row[c] * inverseTotal * inverseN }
                row[y] -= inverseN
            }
        }
        // ∂f/∂W = Xᵀ R + W / (C n);  ∂f/∂b = Σᵢ Rᵢ.
        let penalty = 1 / (inverseStrength * Double(n))
        features.withUnsafeBufferPointer { x in
            scratchLogits.withUnsafeBufferPointer { r in
                gradient.withUnsafeMutableBufferPointer { g in
                    MatrixProducts.dgemm(transposeA: true, m: d, n: k, k: n, a: x.baseAddress!, lda: d,
                                         b: r.baseAddress!, ldb: k, c: g.baseAddress!, ldc: k)
                    for c in 0..<k { g[d * k + c] = 0 }
                    for i in 0..<n { for c in 0..<k { g[d * k + c] += r[i * k + c] } }
                }
            }
        }
        var squaredNorm = 0.0
        for j in 0..<(d * k) {
            squaredNorm += parameters[j] * parameters[j]
            gradient[j] += penalty * parameters[j]
        }
        return crossEntropy * inverseN + 0.5 * penalty * squaredNorm
    }
}
