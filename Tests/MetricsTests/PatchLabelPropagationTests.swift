import Foundation
import Testing
import Evaluation
import Metrics
import TensorCore

/// Patch label propagation (patch-knn): token labels, oracle features, shuffled-label control,
/// determinism per seed and across thread counts, bank sampling.
struct PatchLabelPropagationTests {
    static let size = 16, patch = 4, grid = 4, classes = 4

    /// Masks [count, 16, 16]: background class 0 with one or two patch-aligned rectangles of
    /// classes 1..3 (2–3 patches a side), the top pixel row ignored (255).
    static func masks(count: Int, seed: UInt64) -> [UInt8] {
        var rng = RandomStream(seed: seed)
        var result: [UInt8] = []
        for _ in 0..<count {
            var mask = [UInt8](repeating: 0, count: size * size)
            for _ in 0..<(1 + rng.nextInt(below: 2)) {
                let c = UInt8(1 + rng.nextInt(below: classes - 1))
                let w = 2 + rng.nextInt(below: 2), h = 2 + rng.nextInt(below: 2)
                let gx = rng.nextInt(below: grid - w + 1), gy = rng.nextInt(below: grid - h + 1)
                for y in (gy * patch)..<((gy + h) * patch) { for x in (gx * patch)..<((gx + w) * patch) { mask[y * size + x] = c } }
            }
            for x in 0..<size { mask[x] = 255 }
            result += mask
        }
        return result
    }

    /// Oracle tokens [count, 4, 4, classes]: the one-hot of each token's majority label.
    static func oracleTokens(_ masks: [UInt8], count: Int) throws -> [Float] {
        let labels = try PatchLabelPropagation.tokenLabels(masks: masks, count: count, maskHeight: size, maskWidth: size,
                                                           gridHeight: grid, gridWidth: grid, classes: classes)
        var tokens = [Float](repeating: 0, count: labels.count * classes)
        for (t, label) in labels.enumerated() { tokens[t * classes + Int(label)] = 1 }
        return tokens
    }

    static func shape(_ count: Int, dimension: Int = classes) -> TokenGridShape {
        TokenGridShape(count: count, gridHeight: grid, gridWidth: grid, dimension: dimension)
    }

    func run(trainMasks: [UInt8], trainTokens: [Float], testMasks: [UInt8], testTokens: [Float], trainCount: Int,
             testCount: Int, dimension: Int = classes, bankSize: Int? = nil, seed: UInt64 = 3) throws -> PatchLabelPropagation.Outcome {
        var configuration = PatchLabelPropagation.Configuration()
        configuration.bankSize = bankSize
        var rng = RandomStream(seed: seed)
        return try PatchLabelPropagation.evaluate(
            trainTokens: trainTokens, trainShape: Self.shape(trainCount, dimension: dimension), trainMasks: trainMasks,
            testTokens: testTokens, testShape: Self.shape(testCount, dimension: dimension), testMasks: testMasks,
            maskHeight: Self.size, maskWidth: Self.size, classes: Self.classes, configuration: configuration, rng: &rng)
    }

    @Test("Token label: majority of the patch's labelled pixels, ties to the lower class, -1 when all ignored")
    func tokenLabels() throws {
        // One 4x4 image, 2x2 grid of 2x2 patches.
        let mask: [UInt8] = [1, 1, 255, 255,
                             2, 1, 255, 255,
                             0, 3, 2, 2,
                             3, 0, 1, 1]
        let labels = try PatchLabelPropagation.tokenLabels(masks: mask, count: 1, maskHeight: 4, maskWidth: 4,
                                                           gridHeight: 2, gridWidth: 2, classes: 4)
        #expect(labels == [1, -1, 0, 1])
        #expect(throws: EvaluationError.self) {
            try PatchLabelPropagation.tokenLabels(masks: mask, count: 1, maskHeight: 4, maskWidth: 4, gridHeight: 3,
                                                  gridWidth: 3, classes: 4)
        }
        #expect(throws: EvaluationError.self) {
            try PatchLabelPropagation.tokenLabels(masks: mask, count: 1, maskHeight: 4, maskWidth: 4, gridHeight: 2,
                                                  gridWidth: 2, classes: 3)
        }
    }

    @Test("Oracle one-hot token features reach ~100 % aAcc and mIoU")
    func oracle() throws {
        let trainMasks = Self.masks(count: 80, seed: 1), testMasks = Self.masks(count: 40, seed: 2)
        let outcome = try run(trainMasks: trainMasks, trainTokens: try Self.oracleTokens(trainMasks, count: 80),
                              testMasks: testMasks, testTokens: try Self.oracleTokens(testMasks, count: 40),
                              trainCount: 80, testCount: 40)
        // Only the convex corners of rectangles are lost: bilinear upsampling gives the corner
        // pixel 0.625² of its own token.
        print("patch-knn oracle: mIoU \(outcome.metrics.meanIoU) aAcc \(outcome.metrics.allAccuracy)")
        #expect(outcome.metrics.allAccuracy > 97)
        #expect(outcome.metrics.meanIoU > 93)
        #expect(outcome.bankSize == 80 * 16 && outcome.labelledTrainTokens == 80 * 16)
    }

    @Test("Shuffled train labels fall to chance")
    func shuffledLabels() throws {
        let trainMasks = Self.masks(count: 80, seed: 1), testMasks = Self.masks(count: 40, seed: 2)
        // Oracle plus noise, so that each test token's neighbours are many different bank tokens
        // (with exact one-hots every token of a class ties with every other).
        let tokens = try Self.noisyTokens(trainMasks, count: 80, seed: 11, noise: 0.3)
        let testTokens = try Self.noisyTokens(testMasks, count: 40, seed: 12, noise: 0.3)
        // The masks are moved to other images: labels no longer belong to the tokens.
        var rng = RandomStream(seed: 17)
        let order = rng.permutation(80)
        let pixels = Self.size * Self.size
        let shuffled = order.flatMap { trainMasks[($0 * pixels)..<(($0 + 1) * pixels)] }
        let outcome = try run(trainMasks: shuffled, trainTokens: tokens, testMasks: testMasks, testTokens: testTokens,
                              trainCount: 80, testCount: 40)
        let control = try run(trainMasks: trainMasks, trainTokens: tokens, testMasks: testMasks, testTokens: testTokens,
                              trainCount: 80, testCount: 40)
        // A prediction independent of the label cannot beat the most frequent class's share.
        let labelled = testMasks.filter { $0 != 255 }
        let majorityShare = (0..<Self.classes).map { c in Double(labelled.filter { Int($0) == c }.count) }.max()!
            / Double(labelled.count) * 100
        print("patch-knn shuffled: mIoU \(outcome.metrics.meanIoU) aAcc \(outcome.metrics.allAccuracy) (majority class \(majorityShare)); unshuffled mIoU \(control.metrics.meanIoU) aAcc \(control.metrics.allAccuracy)")
        #expect(outcome.metrics.allAccuracy < majorityShare + 3)
        #expect(outcome.metrics.meanIoU < 30)
        #expect(control.metrics.allAccuracy > 85 && control.metrics.meanIoU > 70)
    }

    /// Noisy tokens so that neighbours, ties and the bank sample all matter.
    static func noisyTokens(_ masks: [UInt8], count: Int, seed: UInt64, noise: Double = 0.8) throws -> [Float] {
        var rng = RandomStream(seed: seed)
        return try oracleTokens(masks, count: count).map { $0 + Float(noise * rng.nextNormal()) }
    }

    @Test("Deterministic per seed, a different seed draws a different bank, identical at 1 and 2 threads")
    func determinism() throws {
        let trainMasks = Self.masks(count: 60, seed: 5), testMasks = Self.masks(count: 30, seed: 6)
        let trainTokens = try Self.noisyTokens(trainMasks, count: 60, seed: 7)
        let testTokens = try Self.noisyTokens(testMasks, count: 30, seed: 8)
        func metrics(seed: UInt64) throws -> SegmentationMetrics {
            try run(trainMasks: trainMasks, trainTokens: trainTokens, testMasks: testMasks, testTokens: testTokens,
                    trainCount: 60, testCount: 30, bankSize: 300, seed: seed).metrics
        }
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        BLAS.setThreads(1)
        let one = try metrics(seed: 3)
        BLAS.setThreads(2)
        let two = try metrics(seed: 3)
        #expect(one == two)
        #expect(try metrics(seed: 3) == two)
        #expect(try metrics(seed: 4) != two)
        #expect(one.allAccuracy > 50)  // noisy, but far above chance
        var a = RandomStream(seed: 3), b = RandomStream(seed: 4)
        let labels = [Int32](repeating: 1, count: 1000)
        let bankA = PatchLabelPropagation.bankIndices(labels: labels, limit: 300, rng: &a)
        let bankB = PatchLabelPropagation.bankIndices(labels: labels, limit: 300, rng: &b)
        #expect(bankA.count == 300 && Set(bankA).count == 300 && bankA == bankA.sorted() && bankA != bankB)
    }

    @Test("Bank keeps labelled tokens only and all of them below the limit")
    func bank() {
        var rng = RandomStream(seed: 1)
        #expect(PatchLabelPropagation.bankIndices(labels: [-1, 2, -1, 0, 1], limit: 10, rng: &rng) == [1, 3, 4])
        #expect(PatchLabelPropagation.bankIndices(labels: [-1, 2, -1, 0, 1], limit: nil, rng: &rng) == [1, 3, 4])
        let two = PatchLabelPropagation.bankIndices(labels: [-1, 2, -1, 0, 1], limit: 2, rng: &rng)
        #expect(two.count == 2 && two.allSatisfy { [1, 3, 4].contains($0) })
    }

    @Test("Propagation equals DINO's rule by hand: exp(sim/T) over the top k, normalised")
    func propagationByHand() throws {
        // One test token [1, 0]; bank rows at angles with similarities 1, 0.8, 0.6, 0 (labels 0, 1, 1, 2), k = 2.
        let bank: [Float] = [1, 0, 0.8, 0.6, 0.6, 0.8, 0, 1]
        var configuration = PatchLabelPropagation.Configuration()
        configuration.neighbours = 2
        let distribution = PatchLabelPropagation.propagate(bank: bank, bankLabels: [0, 1, 1, 2], test: [1, 0],
                                                           dimension: 2, classes: 3, configuration: configuration)
        let w0 = exp(1.0 / 0.1), w1 = exp(Double(Float(0.8)) / 0.1)
        #expect(abs(distribution[0] - w0 / (w0 + w1)) < 1e-6)
        #expect(abs(distribution[1] - w1 / (w0 + w1)) < 1e-6)
        #expect(distribution[2] == 0)
    }
}
