import Foundation
import Testing
import Evaluation
import Metrics
import TensorCore

/// Box head: targets, NMS, gradient check, training on synthetic tokens, determinism.
struct DetectionProbeTests {
    static let geometry = DetectionGeometry(gridHeight: 8, gridWidth: 8, imageHeight: 32, imageWidth: 32)

    /// Objects of 3 classes; every positive token of the default assignment (centre sampling)
    /// carries the class embedding (dims 4..<16) and its regression targets (dims 0..<4);
    /// tokens covered by the box carry 0.4 of
    /// the embedding; every token has noise. Every fourth image also has a crowd region.
    static func syntheticSet(count: Int, seed: UInt64) -> (tokens: [Float], objects: [[DetectionObject]]) {
        let d = 16, classes = 3
        var embeddingRNG = RandomStream(seed: 77)
        let embeddings = (0..<(classes * d)).map { j in j % d < 4 ? 0 : Float(embeddingRNG.nextNormal()) }
        var rng = RandomStream(seed: seed)
        var tokens: [Float] = []
        var objects: [[DetectionObject]] = []
        for image in 0..<count {
            var grid = (0..<(64 * d)).map { _ in Float(0.1 * rng.nextNormal()) }
            var list: [DetectionObject] = []
            for _ in 0..<(1 + rng.nextInt(below: 3)) {
                let w = 4 + rng.uniform(0, 16), h = 4 + rng.uniform(0, 16)
                let x = rng.uniform(0, 32 - w), y = rng.uniform(0, 32 - h)
                list.append(DetectionObject(box: [x, y, w, h], classIndex: rng.nextInt(below: classes)))
            }
            if image % 4 == 3 { list.append(DetectionObject(box: [0, 0, 8, 8], classIndex: 0, isCrowd: true)) }
            let targets = DetectionTargets(objects: list, geometry: geometry, classCount: classes,
                                           centerRadius: DetectionProbe.Configuration().centerRadius)
            for object in list where !object.isCrowd {
                for t in 0..<64 {
                    let cx = (Double(t % 8) + 0.5) * 4, cy = (Double(t / 8) + 0.5) * 4
                    let b = object.box
                    if cx >= b[0] && cx <= b[0] + b[2] && cy >= b[1] && cy <= b[1] + b[3] {
                        for j in 0..<d { grid[t * d + j] += 0.4 * embeddings[object.classIndex * d + j] }
                    }
                }
            }
            for t in 0..<64 where targets.classes[t] < classes {
                for j in 0..<d { grid[t * d + j] += embeddings[targets.classes[t] * d + j] }
                for j in 0..<4 { grid[t * d + j] += Float(targets.regression[t * 4 + j]) }
            }
            tokens += grid
            objects.append(list)
        }
        return (tokens, objects)
    }

    @Test("Targets: centre token, offsets, log sizes, smallest box wins, crowd ignore")
    func targets() {
        let objects = [DetectionObject(box: [4, 4, 8, 8], classIndex: 1),   // centre (8, 8) -> token (2, 2)
                       DetectionObject(box: [6, 6, 4, 4], classIndex: 0),   // same centre, smaller: wins
                       DetectionObject(box: [20, 20, 12, 12], classIndex: 2, isCrowd: true)]
        let targets = DetectionTargets(objects: objects, geometry: Self.geometry, classCount: 3)
        let t = 2 * 8 + 2
        #expect(targets.classes[t] == 0)
        #expect(targets.regression[t * 4 + 0] == 0 && targets.regression[t * 4 + 1] == 0)
        #expect(abs(targets.regression[t * 4 + 2] - log(1.0)) < 1e-12)
        #expect(targets.classes.filter { $0 < 3 }.count == 1)
        #expect(!targets.counted[6 * 8 + 6] && targets.counted[0])
    }

    @Test("Centre sampling: tokens inside the box within the radius, offsets per token, smallest box wins")
    func centreSampling() {
        let objects = [DetectionObject(box: [4, 4, 16, 16], classIndex: 1),   // centre (12, 12) -> token (3, 3)
                       DetectionObject(box: [8, 8, 4, 4], classIndex: 2),     // centre (10, 10) -> token (2, 2): smaller, wins it
                       DetectionObject(box: [24, 24, 3, 3], classIndex: 0)]   // no token centre strictly inside but its own
        let targets = DetectionTargets(objects: objects, geometry: Self.geometry, classCount: 3, centerRadius: 1.5)
        // Token centres 10 and 14 lie within 1.5 strides (6 px) of 12; 6 and 18 do not (strict).
        let positives = (0..<64).filter { targets.classes[$0] < 3 }
        #expect(positives == [2 * 8 + 2, 2 * 8 + 3, 3 * 8 + 2, 3 * 8 + 3, 6 * 8 + 6])
        #expect(targets.classes[2 * 8 + 2] == 2 && targets.classes[3 * 8 + 3] == 1 && targets.classes[6 * 8 + 6] == 0)
        // Offsets are measured from each positive token's corner: centre 12 px = 3 strides.
        #expect(targets.regression[(2 * 8 + 3) * 4 + 0] == 0 && targets.regression[(2 * 8 + 3) * 4 + 1] == 1)
        #expect(abs(targets.regression[(3 * 8 + 2) * 4 + 2] - log(4.0)) < 1e-12)
        let centreOnly = DetectionTargets(objects: objects, geometry: Self.geometry, classCount: 3)
        #expect((0..<64).filter { centreOnly.classes[$0] < 3 } == [2 * 8 + 2, 3 * 8 + 3, 6 * 8 + 6])
    }

    @Test("NMS keeps the best box of an overlapping pair and breaks score ties by index")
    func nonMaximumSuppression() {
        let boxes: [[Double]] = [[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]]
        #expect(NonMaximumSuppression.keep(boxes: boxes, scores: [0.8, 0.9, 0.3, 0.9], iouThreshold: 0.5) == [1, 2])
        #expect(NonMaximumSuppression.keep(boxes: boxes, scores: [0.8, 0.9, 0.3, 0.9], iouThreshold: 0.95) == [1, 3, 2])  // 0 duplicates 3
    }

    @Test("Box head loss gradient matches central differences (≤ 1e-6 relative)")
    func gradientCheck() {
        var rng = RandomStream(seed: 21)
        let rows = 30, d = 5, classes = 3
        let loss = DetectionHeadLoss<Double>(dimension: d, classes: classes, regressionWeight: 0.7)
        let tokens = (0..<(rows * d)).map { _ in rng.nextNormal() }
        let targetClasses = (0..<rows).map { _ in rng.nextInt(below: 3) == 0 ? rng.nextInt(below: classes) : classes }
        let counted = (0..<rows).map { _ in rng.nextInt(below: 6) != 0 }
        let regression = (0..<(rows * 4)).map { _ in rng.nextNormal() }
        let width = loss.outputs
        let parameters = (0..<(d * width + width)).map { _ in 0.4 * rng.nextNormal() }
        func evaluate(_ theta: [Double], _ gradient: inout [Double]) -> Double {
            var weightGradient = [Double](repeating: 0, count: d * width)
            var biasGradient = [Double](repeating: 0, count: width)
            let value = loss.lossAndGradient(tokens: tokens, targetClasses: targetClasses, counted: counted,
                                             regression: regression, weights: Array(theta[0..<(d * width)]),
                                             bias: Array(theta[(d * width)...]), weightGradient: &weightGradient,
                                             biasGradient: &biasGradient)
            gradient = weightGradient + biasGradient
            return value
        }
        var gradient = [Double]()
        _ = evaluate(parameters, &gradient)
        var scratch = [Double]()
        let error = maxRelativeGradientError(parameters: parameters, value: { evaluate($0, &scratch) }, gradient: gradient)
        #expect(error <= 1e-6, "max relative error \(error)")
    }

    @Test("MLP box head: loss gradient matches central differences (≤ 1e-6 relative) for every group; linear through the generic path equals the linear API")
    func mlpGradientCheck() {
        var rng = RandomStream(seed: 22)
        let rows = 24, d = 5, classes = 3, hidden = 6
        let loss = DetectionHeadLoss<Double>(dimension: d, classes: classes, regressionWeight: 0.7)
        let tokens = (0..<(rows * d)).map { _ in rng.nextNormal() }
        let targetClasses = (0..<rows).map { _ in rng.nextInt(below: 3) == 0 ? rng.nextInt(below: classes) : classes }
        let counted = (0..<rows).map { _ in rng.nextInt(below: 6) != 0 }
        let regression = (0..<(rows * 4)).map { _ in rng.nextNormal() }
        let head = TokenHead.mlp(hidden: hidden)
        let shapes = head.parameterShapes(dimension: d, outputs: loss.outputs)
        #expect(shapes == [d * hidden, hidden, hidden * loss.outputs, loss.outputs])
        func evaluate(_ theta: [Double], _ gradient: inout [Double]) -> Double {
            var gradients = shapes.map { [Double](repeating: 0, count: $0) }
            let value = loss.lossAndGradient(tokens: tokens, targetClasses: targetClasses, counted: counted,
                                             regression: regression, head: head,
                                             parameters: TokenHeadTests.groups(theta, shapes: shapes),
                                             gradients: &gradients)
            gradient = gradients.flatMap { $0 }
            return value
        }
        let theta = (0..<shapes.reduce(0, +)).map { _ in 0.6 * rng.nextNormal() }
        var gradient = [Double]()
        _ = evaluate(theta, &gradient)
        #expect(gradient[0..<(d * hidden)].contains { $0 != 0 }, "W1 gets gradient")
        var scratch = [Double]()
        let error = maxRelativeGradientError(parameters: theta, value: { evaluate($0, &scratch) }, gradient: gradient)
        #expect(error <= 1e-6, "max relative error \(error)")
        let width = loss.outputs
        let linear = [(0..<(d * width)).map { _ in rng.nextNormal() }, (0..<width).map { _ in rng.nextNormal() }]
        var wg = [Double](repeating: 0, count: d * width), bg = [Double](repeating: 0, count: width)
        let direct = loss.lossAndGradient(tokens: tokens, targetClasses: targetClasses, counted: counted,
                                          regression: regression, weights: linear[0], bias: linear[1],
                                          weightGradient: &wg, biasGradient: &bg)
        var generic = [[Double](repeating: 0, count: d * width), [Double](repeating: 0, count: width)]
        let viaHead = loss.lossAndGradient(tokens: tokens, targetClasses: targetClasses, counted: counted,
                                           regression: regression, head: .linear, parameters: linear,
                                           gradients: &generic)
        #expect(direct == viaHead && generic == [wg, bg])
    }

    @Test("MLP box head on synthetic tokens reaches high COCO AP, deterministically, with the MLP's parameter groups")
    func mlpTraining() throws {
        let train = Self.syntheticSet(count: 160, seed: 1)
        let test = Self.syntheticSet(count: 48, seed: 2)
        let trainShape = TokenGridShape(count: 160, gridHeight: 8, gridWidth: 8, dimension: 16)
        let testShape = TokenGridShape(count: 48, gridHeight: 8, gridWidth: 8, dimension: 16)
        var configuration = DetectionProbe.Configuration()
        configuration.head = .mlp(hidden: 32)
        func fit(_ configuration: DetectionProbe.Configuration) throws -> DetectionProbe.Model {
            var rng = RandomStream(seed: 3)
            return try DetectionProbe.fit(tokens: train.tokens, shape: trainShape, geometry: Self.geometry,
                                          objects: train.objects, classes: 3, configuration: configuration, rng: &rng)
        }
        let model = try fit(configuration)
        #expect(try fit(configuration) == model)
        #expect(model.parameters.map(\.count) == [16 * 32, 32, 32 * 8, 8])
        #expect(try fit(DetectionProbe.Configuration()).parameters.map(\.count) == [16 * 8, 8])
        let stats = try model.evaluate(tokens: test.tokens, shape: testShape, geometry: Self.geometry, objects: test.objects).stats
        print("detection MLP head synthetic: AP \(stats[0]) AP50 \(stats[1])")
        #expect(stats[1] > 0.8)
        #expect(stats[0] > 0.5)
        #expect(configuration.protocolSettings["hidden_channels"] == .integer(32))
        #expect(DetectionProbe.Configuration().protocolSettings["hidden_channels"] == nil)
    }

    @Test("Objects moved to other images: the linear and MLP box heads fall to near-zero AP50")
    func shuffledObjects() throws {
        let train = Self.syntheticSet(count: 160, seed: 1)
        let test = Self.syntheticSet(count: 48, seed: 2)
        var stream = RandomStream(seed: 9)
        let shuffled = stream.permutation(160).map { train.objects[$0] }
        for head in [TokenHead.linear, .mlp(hidden: 32)] {
            var configuration = DetectionProbe.Configuration()
            configuration.head = head
            var rng = RandomStream(seed: 3)
            let model = try DetectionProbe.fit(tokens: train.tokens, shape: TokenGridShape(count: 160, gridHeight: 8, gridWidth: 8, dimension: 16),
                                               geometry: Self.geometry, objects: shuffled, classes: 3, configuration: configuration, rng: &rng)
            let stats = try model.evaluate(tokens: test.tokens, shape: TokenGridShape(count: 48, gridHeight: 8, gridWidth: 8, dimension: 16),
                                           geometry: Self.geometry, objects: test.objects).stats
            print("detection \(head), shuffled objects: AP \(stats[0]) AP50 \(stats[1])")
            #expect(stats[1] < 0.25, "AP50 \(stats[1]) with the objects of other images")
        }
    }

    @Test("Training on synthetic tokens gives high COCO AP and is deterministic")
    func trainingAndDeterminism() throws {
        let train = Self.syntheticSet(count: 160, seed: 1)
        let test = Self.syntheticSet(count: 48, seed: 2)
        let trainShape = TokenGridShape(count: 160, gridHeight: 8, gridWidth: 8, dimension: 16)
        let testShape = TokenGridShape(count: 48, gridHeight: 8, gridWidth: 8, dimension: 16)
        var first = RandomStream(seed: 3)
        var second = RandomStream(seed: 3)
        let a = try DetectionProbe.fit(tokens: train.tokens, shape: trainShape, geometry: Self.geometry,
                                       objects: train.objects, classes: 3, rng: &first)
        let b = try DetectionProbe.fit(tokens: train.tokens, shape: trainShape, geometry: Self.geometry,
                                       objects: train.objects, classes: 3, rng: &second)
        #expect(a == b)
        let stats = try a.evaluate(tokens: test.tokens, shape: testShape, geometry: Self.geometry, objects: test.objects).stats
        let again = try b.evaluate(tokens: test.tokens, shape: testShape, geometry: Self.geometry, objects: test.objects).stats
        #expect(stats == again)
        print("detection probe synthetic: AP \(stats[0]) AP50 \(stats[1]) AP75 \(stats[2])")
        #expect(stats[1] > 0.8)
        #expect(stats[0] > 0.5)
    }
}
