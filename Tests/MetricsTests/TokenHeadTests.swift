import Foundation
import Testing
import Evaluation
import Metrics
import TensorCore

/// The MLP token head: gradient check through the segmentation loss, training on oracle
/// features, determinism, parsing.
struct TokenHeadTests {
    /// A flat parameter vector cut into the head's groups (for the gradient checks).
    static func groups(_ theta: [Double], shapes: [Int]) -> [[Double]] {
        var result: [[Double]] = []
        var offset = 0
        for size in shapes {
            result.append(Array(theta[offset..<(offset + size)]))
            offset += size
        }
        return result
    }

    @Test("MLP head: segmentation loss gradient matches central differences (≤ 1e-6 relative) for every group")
    func gradientCheck() {
        var rng = RandomStream(seed: 21)
        let count = 2, gh = 3, gw = 2, d = 4, h = 7, w = 5, k = 3, hidden = 5
        let head = TokenHead.mlp(hidden: hidden)
        let loss = SegmentationHeadLoss<Double>(gridHeight: gh, gridWidth: gw, dimension: d, maskHeight: h,
                                                maskWidth: w, classes: k)
        let tokens = (0..<(count * gh * gw * d)).map { _ in rng.nextNormal() }
        let masks = (0..<(count * h * w)).map { _ in UInt8(rng.nextInt(below: 5) == 0 ? 255 : rng.nextInt(below: k)) }
        let shapes = head.parameterShapes(dimension: d, outputs: k)
        #expect(shapes == [d * hidden, hidden, hidden * k, k])
        let flat = (0..<shapes.reduce(0, +)).map { _ in 0.7 * rng.nextNormal() }
        func evaluate(_ theta: [Double], _ gradient: inout [Double]) -> Double {
            var gradients = shapes.map { [Double](repeating: 0, count: $0) }
            let value = loss.lossAndGradient(tokens: tokens, masks: masks, count: count, head: head,
                                             parameters: Self.groups(theta, shapes: shapes), gradients: &gradients)
            gradient = gradients.flatMap { $0 }
            return value
        }
        var gradient = [Double]()
        _ = evaluate(flat, &gradient)
        #expect(gradient.contains { $0 != 0 })
        var scratch = [Double]()
        let error = maxRelativeGradientError(parameters: flat, value: { evaluate($0, &scratch) }, gradient: gradient)
        #expect(error <= 1e-6, "max relative error \(error)")
        // The linear head through the same generic path equals the linear API.
        let linearTheta = (0..<(d * k + k)).map { _ in rng.nextNormal() }
        var wg = [Double](repeating: 0, count: d * k), bg = [Double](repeating: 0, count: k)
        let direct = loss.lossAndGradient(tokens: tokens, masks: masks, count: count, weights: Array(linearTheta[0..<(d * k)]),
                                          bias: Array(linearTheta[(d * k)...]), weightGradient: &wg, biasGradient: &bg)
        var generic = [[Double](repeating: 0, count: d * k), [Double](repeating: 0, count: k)]
        let viaHead = loss.lossAndGradient(tokens: tokens, masks: masks, count: count, head: .linear,
                                           parameters: [Array(linearTheta[0..<(d * k)]), Array(linearTheta[(d * k)...])],
                                           gradients: &generic)
        #expect(direct == viaHead && generic == [wg, bg])
    }

    @Test("MLP head on oracle token features reaches ~100 %, deterministically; linear too")
    func oracle() throws {
        typealias Data = PatchLabelPropagationTests
        let trainMasks = Data.masks(count: 96, seed: 1), testMasks = Data.masks(count: 40, seed: 2)
        let trainTokens = try Data.oracleTokens(trainMasks, count: 96)
        let testTokens = try Data.oracleTokens(testMasks, count: 40)
        func fit(_ head: TokenHead) throws -> SegmentationProbe.Model {
            var configuration = SegmentationProbe.Configuration()
            configuration.head = head
            var rng = RandomStream(seed: 5)
            return try SegmentationProbe.fit(tokens: trainTokens, shape: Data.shape(96), masks: trainMasks,
                                             maskHeight: Data.size, maskWidth: Data.size, classes: Data.classes,
                                             configuration: configuration, rng: &rng)
        }
        for head in [TokenHead.mlp(hidden: 32), .linear] {
            let model = try fit(head)
            #expect(try fit(head) == model)
            let metrics = try model.evaluate(tokens: testTokens, shape: Data.shape(40), masks: testMasks,
                                             maskHeight: Data.size, maskWidth: Data.size)
            print("seg \(head) on oracle tokens: mIoU \(metrics.meanIoU) aAcc \(metrics.allAccuracy)")
            #expect(metrics.allAccuracy > 97)
            #expect(metrics.meanIoU > 93)
        }
    }

    @Test("Masks moved to other images: the MLP and linear heads fall to the majority class's share")
    func shuffledMasks() throws {
        typealias Data = PatchLabelPropagationTests
        let trainMasks = Data.masks(count: 96, seed: 1), testMasks = Data.masks(count: 40, seed: 2)
        let trainTokens = try Data.noisyTokens(trainMasks, count: 96, seed: 11, noise: 0.3)
        let testTokens = try Data.noisyTokens(testMasks, count: 40, seed: 12, noise: 0.3)
        var rng = RandomStream(seed: 17)
        let pixels = Data.size * Data.size
        let shuffled = rng.permutation(96).flatMap { trainMasks[($0 * pixels)..<(($0 + 1) * pixels)] }
        let labelled = testMasks.filter { $0 != 255 }
        let majorityShare = (0..<Data.classes).map { c in Double(labelled.filter { Int($0) == c }.count) }.max()!
            / Double(labelled.count) * 100
        for head in [TokenHead.mlp(hidden: 32), .linear] {
            var configuration = SegmentationProbe.Configuration()
            configuration.head = head
            func score(_ masks: [UInt8]) throws -> SegmentationMetrics {
                var stream = RandomStream(seed: 5)
                return try SegmentationProbe.fit(tokens: trainTokens, shape: Data.shape(96), masks: masks, maskHeight: Data.size,
                                                 maskWidth: Data.size, classes: Data.classes, configuration: configuration, rng: &stream)
                    .evaluate(tokens: testTokens, shape: Data.shape(40), masks: testMasks, maskHeight: Data.size, maskWidth: Data.size)
            }
            let control = try score(trainMasks), shuffledScore = try score(shuffled)
            print("seg \(head), shuffled masks: aAcc \(shuffledScore.allAccuracy) mIoU \(shuffledScore.meanIoU) (majority class \(majorityShare)); unshuffled aAcc \(control.allAccuracy)")
            #expect(shuffledScore.allAccuracy < majorityShare + 5)
            #expect(control.allAccuracy > 90)
        }
    }

    @Test("MLP init draws only W1, within ±1/√D; the linear head starts at zero without drawing")
    func initialisation() {
        var rng = RandomStream(seed: 2)
        let before = rng
        let linear = TokenHead.linear.initialParameters(dimension: 9, outputs: 3, rng: &rng)
        #expect(linear.allSatisfy { $0.allSatisfy { $0 == 0 } })
        var untouched = before
        #expect(rng.next() == untouched.next())
        let mlp = TokenHead.mlp(hidden: 6).initialParameters(dimension: 9, outputs: 3, rng: &rng)
        #expect(mlp.map(\.count) == [54, 6, 18, 3])
        #expect(mlp[0].allSatisfy { abs($0) <= Float(1.0 / 3) } && mlp[0].contains { $0 != 0 })
        #expect(mlp[1...].allSatisfy { $0.allSatisfy { $0 == 0 } })
        #expect(throws: EvaluationError.self) { try TokenHead(parsing: "conv") }
        #expect((try? TokenHead(parsing: "mlp")) == .mlp(hidden: TokenHead.defaultHidden))
    }
}
