import Foundation
import Testing
import Evaluation
import Metrics
import TensorCore

/// Segmentation head: upsampling values and adjoint, gradient check, training, determinism.
struct SegmentationProbeTests {
    @Test("Bilinear upsampling equals F.interpolate(align_corners=False) values")
    func upsamplingValues() {
        // torch: F.interpolate([[1, 2]] as 1x1x1x2, size=(1, 4), mode='bilinear') = [1, 1.25, 1.75, 2].
        let up = BilinearUpsampling<Double>(inputHeight: 1, inputWidth: 2, outputHeight: 1, outputWidth: 4)
        #expect(up.forward([1, 2], channels: 1) == [1, 1.25, 1.75, 2])
        // 2x2 -> 3x3 (scale 2/3): sources 0, 5/6 and 2 - 0.5... computed by the formula by hand.
        let square = BilinearUpsampling<Double>(inputHeight: 2, inputWidth: 2, outputHeight: 3, outputWidth: 3)
        let out = square.forward([0, 1, 2, 3], channels: 1)
        // source index per output: max(0, (o + .5) * 2/3 - .5) = 0, 0.5, 1.1667 -> clamped tap (1, 1).
        #expect(abs(out[4] - 1.5) < 1e-12)  // centre: average of all four
        #expect(abs(out[1] - 0.5) < 1e-12 && abs(out[8] - 3) < 1e-12 && out[0] == 0)
        let constant = BilinearUpsampling<Float>(inputHeight: 3, inputWidth: 5, outputHeight: 13, outputWidth: 7)
        #expect(constant.forward([Float](repeating: 2.5, count: 15 * 2), channels: 2).allSatisfy { abs($0 - 2.5) < 1e-6 })
    }

    @Test("Upsampling backward is the adjoint of forward: <Ux, y> = <x, Uᵀy>")
    func upsamplingAdjoint() {
        var rng = RandomStream(seed: 4)
        let up = BilinearUpsampling<Double>(inputHeight: 3, inputWidth: 4, outputHeight: 11, outputWidth: 9)
        let x = (0..<(3 * 4 * 2)).map { _ in rng.nextNormal() }
        let y = (0..<(11 * 9 * 2)).map { _ in rng.nextNormal() }
        let ux = up.forward(x, channels: 2)
        var uty = [Double](repeating: 0, count: x.count)
        up.backward(y, channels: 2, inputGradient: &uty)
        let left = zip(ux, y).reduce(0) { $0 + $1.0 * $1.1 }
        let right = zip(x, uty).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(left - right) <= 1e-12 * max(1, abs(left)))
    }

    @Test("Head loss gradient through the upsampling matches central differences (≤ 1e-6 relative)")
    func gradientCheck() {
        var rng = RandomStream(seed: 9)
        let count = 2, gh = 3, gw = 2, d = 4, h = 7, w = 5, k = 3
        let loss = SegmentationHeadLoss<Double>(gridHeight: gh, gridWidth: gw, dimension: d, maskHeight: h,
                                                maskWidth: w, classes: k)
        let tokens = (0..<(count * gh * gw * d)).map { _ in rng.nextNormal() }
        let masks = (0..<(count * h * w)).map { _ in UInt8(rng.nextInt(below: 5) == 0 ? 255 : rng.nextInt(below: k)) }
        let parameters = (0..<(d * k + k)).map { _ in 0.5 * rng.nextNormal() }
        func evaluate(_ theta: [Double], _ gradient: inout [Double]) -> Double {
            var weightGradient = [Double](repeating: 0, count: d * k)
            var biasGradient = [Double](repeating: 0, count: k)
            let value = loss.lossAndGradient(tokens: tokens, masks: masks, count: count,
                                             weights: Array(theta[0..<(d * k)]), bias: Array(theta[(d * k)...]),
                                             weightGradient: &weightGradient, biasGradient: &biasGradient)
            gradient = weightGradient + biasGradient
            return value
        }
        var gradient = [Double]()
        _ = evaluate(parameters, &gradient)
        var scratch = [Double]()
        let error = maxRelativeGradientError(parameters: parameters, value: { evaluate($0, &scratch) }, gradient: gradient)
        #expect(error <= 1e-6, "max relative error \(error)")
    }

    /// Masks of random rectangles; each token is the class mix of its 4x4 patch times class
    /// embeddings, plus noise. A border of 255 pixels.
    static func syntheticSet(count: Int, seed: UInt64) -> (tokens: [Float], masks: [UInt8]) {
        let size = 16, patch = 4, grid = 4, d = 12, classes = 4
        var embeddingRNG = RandomStream(seed: 1234)
        let embeddings = (0..<(classes * d)).map { _ in Float(embeddingRNG.nextNormal()) }
        var rng = RandomStream(seed: seed)
        var tokens: [Float] = []
        var masks: [UInt8] = []
        for _ in 0..<count {
            var mask = [UInt8](repeating: 0, count: size * size)
            for _ in 0..<2 {
                let c = UInt8(1 + rng.nextInt(below: classes - 1))
                let x0 = rng.nextInt(below: 12), y0 = rng.nextInt(below: 12)
                let x1 = min(size, x0 + 3 + rng.nextInt(below: 8)), y1 = min(size, y0 + 3 + rng.nextInt(below: 8))
                for y in y0..<y1 { for x in x0..<x1 { mask[y * size + x] = c } }
            }
            for gy in 0..<grid {
                for gx in 0..<grid {
                    var fractions = [Float](repeating: 0, count: classes)
                    for y in 0..<patch {
                        for x in 0..<patch {
                            let pixel: Int = (gy * patch + y) * size + gx * patch + x
                            fractions[Int(mask[pixel])] += Float(1) / Float(patch * patch)
                        }
                    }
                    for j in 0..<d {
                        var value = Float(0.4 * rng.nextNormal())
                        for c in 0..<classes { value += fractions[c] * embeddings[c * d + j] }
                        tokens.append(value)
                    }
                }
            }
            for i in 0..<size { mask[i] = 255 }  // an ignored top row
            masks += mask
        }
        return (tokens, masks)
    }

    @Test("Training on synthetic tokens beats chance by far and is deterministic")
    func trainingAndDeterminism() throws {
        let train = Self.syntheticSet(count: 96, seed: 1)
        let test = Self.syntheticSet(count: 32, seed: 2)
        let trainShape = TokenGridShape(count: 96, gridHeight: 4, gridWidth: 4, dimension: 12)
        let testShape = TokenGridShape(count: 32, gridHeight: 4, gridWidth: 4, dimension: 12)
        var configuration = SegmentationProbe.Configuration()
        configuration.epochs = 15
        var first = RandomStream(seed: 5)
        var second = RandomStream(seed: 5)
        let a = try SegmentationProbe.fit(tokens: train.tokens, shape: trainShape, masks: train.masks, maskHeight: 16,
                                          maskWidth: 16, classes: 4, configuration: configuration, rng: &first)
        let b = try SegmentationProbe.fit(tokens: train.tokens, shape: trainShape, masks: train.masks, maskHeight: 16,
                                          maskWidth: 16, classes: 4, configuration: configuration, rng: &second)
        #expect(a == b)
        let metrics = try a.evaluate(tokens: test.tokens, shape: testShape, masks: test.masks, maskHeight: 16, maskWidth: 16)
        let again = try b.evaluate(tokens: test.tokens, shape: testShape, masks: test.masks, maskHeight: 16, maskWidth: 16)
        #expect(metrics == again)
        // Predicting background everywhere gives mIoU ≈ 15 and aAcc ≈ 60 on this data.
        print("segmentation probe synthetic: mIoU \(metrics.meanIoU) aAcc \(metrics.allAccuracy)")
        #expect(metrics.meanIoU > 50)
        #expect(metrics.allAccuracy > 80)
    }

    @Test("Bad masks throw")
    func badInput() {
        var rng = RandomStream(seed: 0)
        let shape = TokenGridShape(count: 1, gridHeight: 1, gridWidth: 1, dimension: 2)
        #expect(throws: EvaluationError.self) {
            try SegmentationProbe.fit(tokens: [1, 2], shape: shape, masks: [0, 7, 1, 1], maskHeight: 2, maskWidth: 2,
                                      classes: 3, rng: &rng)
        }
        #expect(throws: EvaluationError.self) {
            try SegmentationProbe.fit(tokens: [1, 2], shape: shape, masks: [0, 1, 1], maskHeight: 2, maskWidth: 2,
                                      classes: 3, rng: &rng)
        }
    }
}
