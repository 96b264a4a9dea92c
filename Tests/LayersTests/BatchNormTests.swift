import Foundation
import Layers
import TensorCore
import Testing
import TestSupport

/// BatchNorm1d: gradients in both modes against central differences in Double; the training
/// output uses the batch statistics (biased variance), the running statistics move as torch's
/// (momentum 0.1, unbiased variance) and are never changed in place; evaluation reads them.
@Suite struct BatchNormTests {
    @Test func gradientsInTrainingAndEvaluation() {
        let bn = BatchNorm1d(5, dtype: .float64)
        // Non-trivial γ, β so their gradients are exercised away from 1 and 0.
        for i in 0..<5 { bn.weight.storage[i] = 0.5 + 0.3 * Double(i); bn.bias.storage[i] = 0.1 * Double(i) - 0.2 }
        let x = randomTensor([6, 5], seed: 3, scale: 2)
        let running = BatchNorm1d.Statistics(mean: randomTensor([5], seed: 4, requiresGrad: false),
                                             variance: randomTensor([5], seed: 5, requiresGrad: false).square() + 0.5)
        let train = gradCheck([x, bn.weight, bn.bias]) { bn.training($0[0], running: running).output }
        #expect(train.maxError < 1e-6, "training mode: \(train)")
        let eval = gradCheck([x, bn.weight, bn.bias]) { bn.evaluation($0[0], running: running) }
        #expect(eval.maxError < 1e-6, "evaluation mode: \(eval)")
    }

    @Test func trainingUsesTheBatchAndMovesTheRunningStatisticsAsTorch() {
        let bn = BatchNorm1d(3, dtype: .float64)
        let x = randomTensor([4, 3], seed: 11, scale: 3, requiresGrad: false) + 1.5
        let initial = bn.initialStatistics()
        #expect(initial.mean.doubles == [0, 0, 0] && initial.variance.doubles == [1, 1, 1])
        let (y, next) = bn.training(x, running: initial)
        let v = x.doubles
        for c in 0..<3 {
            let column = (0..<4).map { v[$0 * 3 + c] }
            let mean = column.reduce(0, +) / 4
            let biased = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            // Normalised with the biased variance: zero mean, unit (biased) variance per channel.
            let out = (0..<4).map { y.doubles[$0 * 3 + c] }
            #expect(abs(out.reduce(0, +) / 4) < 1e-12)
            #expect(abs(out.map { $0 * $0 }.reduce(0, +) / 4 - biased / (biased + 1e-5)) < 1e-12)
            // torch: r ← 0.9 r + 0.1 batch, with the unbiased variance.
            #expect(abs(next.mean.doubles[c] - 0.1 * mean) < 1e-14)
            #expect(abs(next.variance.doubles[c] - (0.9 + 0.1 * biased * 4 / 3)) < 1e-14)
        }
        #expect(initial.mean.doubles == [0, 0, 0] && initial.variance.doubles == [1, 1, 1], "the given statistics are not changed")
        // A second batch continues from the first's statistics.
        let (_, third) = bn.training(x, running: next)
        #expect(abs(third.mean.doubles[0] - (0.9 * next.mean.doubles[0] + 0.1 * (0..<4).map { v[$0 * 3] }.reduce(0, +) / 4)) < 1e-14)
    }

    @Test func evaluationReadsTheRunningStatistics() {
        let bn = BatchNorm1d(2, dtype: .float64)
        bn.weight.storage[1] = 2
        bn.bias.storage[0] = 0.5
        let running = BatchNorm1d.Statistics(mean: Tensor([1, -1], shape: [2], dtype: .float64),
                                             variance: Tensor([4, 0.25], shape: [2], dtype: .float64))
        let x = Tensor([3, 0, 1, -1], shape: [2, 2], dtype: .float64)
        let y = bn.evaluation(x, running: running).doubles
        let first: Double = 2 / (4 + 1e-5).squareRoot() + 0.5
        let second: Double = 2 / (0.25 + 1e-5).squareRoot()
        let expected: [Double] = [first, second, 0.5, 0.0]
        for (a, b) in zip(y, expected) { #expect(abs(a - b) < 1e-12) }
        // The same rows in evaluation give the same output whatever else is in the batch.
        let single = bn.evaluation(Tensor([3, 0], shape: [1, 2], dtype: .float64), running: running).doubles
        #expect(single == Array(y[0..<2]))
    }
}
