import Foundation
import Testing
import Evaluation
import TensorCore

/// The linear probe's preconditioner and warm-started refit: the blocks are the loss's own
/// curvature, preconditioning changes the path but not the minimum, the refit start keeps the logits.
struct ClassBlockPreconditionerTests {
    func randomProblem(rows n: Int, dimension d: Int, classes k: Int, strength: Double,
                       seed: UInt64) -> (loss: MultinomialLogisticLoss, parameters: [Double]) {
        var rng = RandomStream(seed: seed)
        let features = (0..<(n * d)).map { _ in rng.nextNormal() }
        let labels = (0..<n).map { _ in Int32(rng.nextInt(below: k)) }
        let loss = MultinomialLogisticLoss(features: features, labels: labels, dimension: d, classes: k,
                                           inverseStrength: strength)
        return (loss, (0..<loss.parameterCount).map { _ in 0.2 * rng.nextNormal() })
    }

    @Test("M inverts block c of the Hessian: M (H v) = v for v on one class, H v by central differences",
          arguments: [3, 7])  // 7 classes: solved four, two and one at a time
    func invertsTheLossCurvature(classes k: Int) {
        let d = 4
        let problem = randomProblem(rows: 40, dimension: d, classes: k, strength: 0.5, seed: 5)
        var loss = problem.loss
        let theta = problem.parameters
        // Small logits keep every weight p(1 − p) far above the curvature floor, so no row is left out.
        #expect(loss.probabilities(theta).allSatisfy { $0 * (1 - $0) > 10 * ClassBlockPreconditioner.curvatureFloor })
        let preconditioner = ClassBlockPreconditioner(loss: loss, at: theta)
        var rng = RandomStream(seed: 6)
        for c in 0..<k {
            var direction = [Double](repeating: 0, count: loss.parameterCount)
            for j in 0...d { direction[j * k + c] = rng.nextNormal() }
            // H v = (∇f(θ + h v) − ∇f(θ − h v)) / 2h; its class-c column is H_c v_c.
            let h = 1e-5
            var plus = [Double](repeating: 0, count: loss.parameterCount), minus = plus
            _ = loss.valueAndGradient(zip(theta, direction).map { $0 + h * $1 }, gradient: &plus)
            _ = loss.valueAndGradient(zip(theta, direction).map { $0 - h * $1 }, gradient: &minus)
            var product = [Double](repeating: 0, count: loss.parameterCount)
            for j in 0...d { product[j * k + c] = (plus[j * k + c] - minus[j * k + c]) / (2 * h) }
            preconditioner.apply(&product)
            for j in 0...d {
                let error = abs(product[j * k + c] - direction[j * k + c]) / max(1, abs(direction[j * k + c]))
                #expect(error <= 1e-6, "class \(c), row \(j): \(product[j * k + c]) vs \(direction[j * k + c])")
            }
        }
    }

    @Test("Preconditioned and plain L-BFGS reach the same minimum; preconditioned in fewer iterations")
    func sameMinimumFewerIterations() throws {
        let d = 12, k = 5
        var loss = randomProblem(rows: 600, dimension: d, classes: k, strength: 1000, seed: 7).loss
        let start = [Double](repeating: 0, count: loss.parameterCount)
        let optimizer = LimitedMemoryBFGS(historySize: 10, maxIterations: 5000, gradientTolerance: 1e-9)
        let plain = try optimizer.minimize(start: start) { loss.valueAndGradient($0, gradient: &$1) }
        let preconditioner = ClassBlockPreconditioner(loss: loss, at: start)
        let preconditioned = try optimizer.minimize(start: start, preconditioner: { preconditioner.apply(&$0) }) {
            loss.valueAndGradient($0, gradient: &$1)
        }
        #expect(plain.converged && preconditioned.converged)
        #expect(abs(plain.value - preconditioned.value) <= 1e-10 * max(1, abs(plain.value)),
                "\(plain.value) vs \(preconditioned.value)")
        #expect(preconditioned.iterations < plain.iterations,
                "preconditioned \(preconditioned.iterations) vs plain \(plain.iterations) iterations")
    }

    @Test("The column-interleaved Cholesky gives the textbook row-by-row loop's bits")
    func choleskyMatchesTheTextbookLoopBitwise() {
        for size in [1, 5, 38] {  // 38: four-row groups and two rows left over
            var rng = RandomStream(seed: UInt64(size))
            let b = (0..<(size * size)).map { _ in rng.nextNormal() }
            var a = [Double](repeating: 0, count: size * size)
            for i in 0..<size { for j in 0..<size { for m in 0..<size { a[i * size + j] += b[i * size + m] * b[j * size + m] } } }
            for i in 0..<size { a[i * size + i] += 0.1 }
            var textbook = [Double](repeating: 0, count: size * size)
            for i in 0..<size {
                for j in 0...i {
                    var sum = a[i * size + j] + (i == j ? 0 : 0)
                    for m in 0..<j { sum -= textbook[i * size + m] * textbook[j * size + m] }
                    textbook[i * size + j] = i == j ? sum.squareRoot() : sum / textbook[j * size + j]
                }
            }
            let factor = ClassBlockPreconditioner.choleskyWithRidge(a, size: size)
            #expect(factor.map(\.bitPattern) == textbook.map(\.bitPattern), "size \(size)")
        }
    }

    @Test("A block no row reaches (an all-zero feature) still factorises, with a ridge")
    func singularBlockGetsARidge() {
        let factor = ClassBlockPreconditioner.choleskyWithRidge([1, 0, 0, 0], size: 2)
        #expect(abs(factor[0] - 1) <= 1e-9 && factor[3] > 0 && factor[3].isFinite)
    }

    @Test("The refit start gives the same logits on the new standardiser's features")
    func rewriteKeepsTheLogits() {
        var rng = RandomStream(seed: 8)
        let d = 6, k = 4, n = 10
        let raw = (0..<(n * d)).map { _ in Float(3 * rng.nextNormal() + 1) }
        let old = FeatureStandardizer(fitting: Array(raw[0..<(5 * d)]), dimension: d)
        let new = FeatureStandardizer(fitting: raw, dimension: d)
        let theta = (0..<((d + 1) * k)).map { _ in rng.nextNormal() }
        let rewritten = LinearProbe.rewrite(theta, classes: k, from: old, to: new)
        func logits(_ parameters: [Double], _ standardizer: FeatureStandardizer) -> [Double] {
            let x = standardizer.apply(raw)
            return (0..<(n * k)).map { index in
                let i = index / k, c = index % k
                return parameters[d * k + c] + (0..<d).reduce(0.0) { $0 + x[i * d + $1] * parameters[$1 * k + c] }
            }
        }
        for (a, b) in zip(logits(theta, old), logits(rewritten, new)) { #expect(abs(a - b) <= 1e-12 * max(1, abs(a))) }
    }
}
