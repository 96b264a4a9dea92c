import Foundation
import Testing
import Evaluation
import TensorCore

/// Linear probe against scikit-learn (Scripts/reference/make_probe_fixtures.py), gradient check,
/// determinism.
struct LinearProbeTests {
    struct ProbeFixture {
        var trainFeatures: [Float]
        var trainLabels: [Int32]
        var testFeatures: [Float]
        var testLabels: [Int32]
        var dimension: Int
        var classes: Int
        var results: [[String: Any]]
    }

    func loadFixture() throws -> ProbeFixture {
        let expected = try #require(Fixture.json("probe_expected.json") as? [String: Any])
        let dimension = try #require(expected["dimension"] as? Int)
        let trainRows = try #require(expected["train_rows"] as? Int)
        let features = try Fixture.floats("probe_features.f32")
        let labels = try Fixture.int32s("probe_labels.i32")
        return ProbeFixture(trainFeatures: Array(features[0..<(trainRows * dimension)]),
                            trainLabels: Array(labels[0..<trainRows]),
                            testFeatures: Array(features[(trainRows * dimension)...]),
                            testLabels: Array(labels[trainRows...]),
                            dimension: dimension, classes: try #require(expected["classes"] as? Int),
                            results: try #require(expected["results"] as? [[String: Any]]))
    }

    /// The C sweep on the fixture's train rows, its validation split drawn from `seed`.
    func sweep(_ fixture: ProbeFixture, _ configuration: LinearProbe.Configuration, seed: UInt64,
               progress: ((LinearProbe.FitReport) -> Void)? = nil) throws -> LinearProbe.Result {
        var rng = RandomStream(seed: seed)
        return try LinearProbe.fit(trainFeatures: fixture.trainFeatures, trainLabels: fixture.trainLabels,
                                   dimension: fixture.dimension, classes: fixture.classes,
                                   configuration: configuration, rng: &rng, progress: progress)
    }

    @Test("Same C gives sklearn's test accuracy within 0.5 points and the same objective minimum")
    func matchesScikitLearn() throws {
        let fixture = try loadFixture()
        var configuration = LinearProbe.Configuration()
        configuration.gradientTolerance = 1e-9
        configuration.maxIterations = 5000
        for reference in fixture.results {
            let strength = try #require(reference["C"] as? Double)
            let (model, objective) = try LinearProbe.fit(
                features: fixture.trainFeatures, labels: fixture.trainLabels, dimension: fixture.dimension,
                classes: fixture.classes, inverseStrength: strength, configuration: configuration)
            let top1 = model.accuracy(features: fixture.testFeatures, labels: fixture.testLabels)
            let sklearnTop1 = try #require(reference["test_top1"] as? Double)
            let sklearnObjective = try #require(reference["objective"] as? Double)
            #expect(abs(top1 - sklearnTop1) <= 0.5, "C = \(strength): \(top1) vs sklearn \(sklearnTop1)")
            #expect(abs(objective - sklearnObjective) <= 1e-7 * max(1, abs(sklearnObjective)),
                    "C = \(strength): objective \(objective) vs sklearn \(sklearnObjective)")
        }
    }

    @Test("Loss gradient matches central differences (relative error ≤ 1e-6)")
    func gradientCheck() {
        var rng = RandomStream(seed: 3)
        let n = 23, d = 5, k = 4
        let features = (0..<(n * d)).map { _ in rng.nextNormal() }
        let labels = (0..<n).map { _ in Int32(rng.nextInt(below: k)) }
        var loss = MultinomialLogisticLoss(features: features, labels: labels, dimension: d, classes: k,
                                           inverseStrength: 0.7)
        let parameters = (0..<loss.parameterCount).map { _ in 0.5 * rng.nextNormal() }
        var gradient = [Double](repeating: 0, count: loss.parameterCount)
        _ = loss.valueAndGradient(parameters, gradient: &gradient)
        var scratch = gradient
        let error = maxRelativeGradientError(parameters: parameters, value: { loss.valueAndGradient($0, gradient: &scratch) },
                                             gradient: gradient)
        #expect(error <= 1e-6, "max relative error \(error)")
    }

    @Test("The C sweep is deterministic for one seed and picks a grid value")
    func sweepDeterminism() throws {
        let fixture = try loadFixture()
        var configuration = LinearProbe.Configuration()
        configuration.strengths = [0.01, 0.1, 1.0]
        let a = try sweep(fixture, configuration, seed: 11)
        let b = try sweep(fixture, configuration, seed: 11)
        #expect(a.model == b.model && a.chosenStrength == b.chosenStrength)
        #expect(a.validationAccuracy == b.validationAccuracy)
        #expect(configuration.strengths.contains(a.chosenStrength))
        #expect(a.validationAccuracy.count == 3)
        // On this data more C is better (sklearn: 51 → 66 → 77 % test top-1).
        #expect(a.chosenStrength == 1.0)
        let metrics = try a.evaluate(testFeatures: fixture.testFeatures, testLabels: fixture.testLabels)
        #expect(metrics["top1"]! > 70 && metrics["C"] == 1.0)
    }

    @Test("Progress hears every fit of the sweep in ascending C, then the refit at the chosen C")
    func progressReports() throws {
        let fixture = try loadFixture()
        var configuration = LinearProbe.Configuration()
        configuration.strengths = [1.0, 0.01, 0.1]
        var reports: [LinearProbe.FitReport] = []
        let result = try sweep(fixture, configuration, seed: 11) { reports.append($0) }
        #expect(reports.map(\.index) == [1, 2, 3, 4] && reports.allSatisfy { $0.count == 4 })
        #expect(reports.map(\.strength) == [0.01, 0.1, 1.0, result.chosenStrength])
        // The result lists the sweep in the caller's grid order, then the refit.
        #expect(reports.map(\.iterations) == [result.iterations[1], result.iterations[2], result.iterations[0], result.iterations[3]])
        #expect(reports.prefix(3).map(\.validationAccuracy) == [result.validationAccuracy[1], result.validationAccuracy[2], result.validationAccuracy[0]])
        #expect(reports.last?.validationAccuracy == nil)
    }

    @Test("Features wider than preconditionerMaxDimension are fitted by plain L-BFGS, narrower ones preconditioned")
    func preconditionerWidthLimit() throws {
        let fixture = try loadFixture()
        func fit(_ change: (inout LinearProbe.Configuration) -> Void) throws -> LinearProbe.Result {
            var configuration = LinearProbe.Configuration()
            configuration.strengths = [0.1, 10]
            change(&configuration)
            return try sweep(fixture, configuration, seed: 5)
        }
        let plain = try fit { $0.preconditioned = false }
        let tooWide = try fit { $0.preconditionerMaxDimension = fixture.dimension - 1 }
        let atLimit = try fit { $0.preconditionerMaxDimension = fixture.dimension }
        #expect(tooWide.model == plain.model && tooWide.iterations == plain.iterations)
        #expect(atLimit.iterations != plain.iterations, "preconditioned \(atLimit.iterations) vs plain \(plain.iterations)")
        // DINO's linear readout at tiny, the CLS tokens of the last 4 blocks of a 192-d encoder
        // (768 values), and at the paper budget's 384-d encoder (1,536): plain L-BFGS ran 16 of
        // 18 fits to the iteration cap on 768-d MAE features (Documentation/evaluation.md).
        #expect(LinearProbe.Configuration().preconditionerMaxDimension >= 4 * 384)
    }

    @Test("Stratified split keeps class proportions and is seed-determined")
    func stratifiedSplit() {
        let labels: [Int32] = (0..<100).map { Int32($0 % 4 == 0 ? 1 : 0) }
        var rng = RandomStream(seed: 1)
        let (kept, heldOut) = StratifiedSplit.split(labels: labels, classes: 2, heldOutFraction: 0.2, rng: &rng)
        #expect(kept.count + heldOut.count == 100)
        #expect(Set(kept).isDisjoint(with: heldOut))
        #expect(heldOut.filter { labels[$0] == 1 }.count == 5)
        #expect(heldOut.filter { labels[$0] == 0 }.count == 15)
        var again = RandomStream(seed: 1)
        #expect(StratifiedSplit.split(labels: labels, classes: 2, heldOutFraction: 0.2, rng: &again).heldOut == heldOut)
    }

    @Test("Bad labels and shapes throw")
    func badInput() {
        var rng = RandomStream(seed: 0)
        #expect(throws: EvaluationError.self) {
            try LinearProbe.fit(trainFeatures: [1, 2, 3], trainLabels: [0, 1], dimension: 2, classes: 2, rng: &rng)
        }
        #expect(throws: EvaluationError.self) {
            try LinearProbe.fit(trainFeatures: [1, 2, 3, 4], trainLabels: [0, 2], dimension: 2, classes: 2, rng: &rng)
        }
    }
}
