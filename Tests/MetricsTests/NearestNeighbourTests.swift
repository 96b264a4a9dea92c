import Foundation
import Testing
import Evaluation
import TensorCore

/// k-NN against an in-test brute force in Double.
struct NearestNeighbourTests {
    /// Full sort of every training row by (similarity desc, index asc), then DINO's weighted vote.
    func bruteForce(train: [Float], labels: [Int32], test: [Float], dimension: Int, classes: Int,
                    k: Int, temperature: Double) -> [Int32] {
        let trainRows = NearestNeighbourClassifier.normalisedRows(train, dimension: dimension)
        let testRows = NearestNeighbourClassifier.normalisedRows(test, dimension: dimension)
        let n = labels.count
        return (0..<(test.count / dimension)).map { q in
            let similarities = (0..<n).map { i in
                (0..<dimension).reduce(0.0) { $0 + Double(testRows[q * dimension + $1]) * Double(trainRows[i * dimension + $1]) }
            }
            let order = (0..<n).sorted { similarities[$0] != similarities[$1] ? similarities[$0] > similarities[$1] : $0 < $1 }
            var votes = [Double](repeating: 0, count: classes)
            for i in order.prefix(k) { votes[Int(labels[i])] += exp(similarities[i] / temperature) }
            var best = 0
            for c in 1..<classes where votes[c] > votes[best] { best = c }
            return Int32(best)
        }
    }

    func data(rows: Int, dimension: Int, classes: Int, seed: UInt64) -> ([Float], [Int32]) {
        var centreRNG = RandomStream(seed: 99)  // shared by train and test sets
        let centres = (0..<(classes * dimension)).map { _ in Float(centreRNG.nextNormal()) }
        var rng = RandomStream(seed: seed)
        var features: [Float] = []
        var labels: [Int32] = []
        for _ in 0..<rows {
            let c = rng.nextInt(below: classes)
            labels.append(Int32(c))
            for j in 0..<dimension { features.append(centres[c * dimension + j] + Float(1.5 * rng.nextNormal())) }
        }
        return (features, labels)
    }

    @Test("Predictions equal a Double brute force for k=20/T=0.07 and k=200/T=0.1")
    func matchesBruteForce() throws {
        let (train, trainLabels) = data(rows: 700, dimension: 24, classes: 5, seed: 1)
        let (test, _) = data(rows: 150, dimension: 24, classes: 5, seed: 2)
        let predictions = try NearestNeighbourClassifier.predict(train: train, trainLabels: trainLabels, test: test,
                                                                 dimension: 24, classes: 5, chunkRows: 64)
        for (s, setting) in NearestNeighbourClassifier.dinoSettings.enumerated() {
            let reference = bruteForce(train: train, labels: trainLabels, test: test, dimension: 24, classes: 5,
                                       k: setting.neighbours, temperature: setting.temperature)
            #expect(predictions[s] == reference, "\(setting.metricName)")
        }
    }

    /// DINO's own `eval_knn.knn_classifier`, imported from a checkout by
    /// Scripts/reference/make_knn_fixture.py, on the linear-probe fixture's features.
    @Test("Top-1 equals DINO's knn_classifier at every (k, T) of the fixture")
    func matchesDINO() throws {
        let expected = try #require(Fixture.json("knn_expected.json") as? [String: Any])
        let results = try #require(expected["results"] as? [[String: Any]])
        let (trainRows, dimension, classes) = (2000, 32, 5)
        let features = try Fixture.floats("probe_features.f32")
        let labels = try Fixture.int32s("probe_labels.i32")
        let settings = try results.map { NearestNeighbourClassifier.Setting(
            neighbours: try #require($0["k"] as? Int), temperature: try #require($0["temperature"] as? Double)) }
        let predictions = try NearestNeighbourClassifier.predict(
            train: Array(features[0..<(trainRows * dimension)]), trainLabels: Array(labels[0..<trainRows]),
            test: Array(features[(trainRows * dimension)...]), dimension: dimension, classes: classes, settings: settings)
        let truth = Array(labels[trainRows...])
        for (s, result) in results.enumerated() {
            let top1 = 100 * Double(zip(predictions[s], truth).filter { $0 == $1 }.count) / Double(truth.count)
            #expect(abs(top1 - (try #require(result["top1"] as? Double))) < 1e-9, "\(settings[s].metricName): \(top1) vs \(result)")
        }
    }

    @Test("Tied similarities rank the lower training index first")
    func tieBreak() throws {
        // Rows 0 and 1 are identical with different labels; with k = 1 the lower index wins.
        let train: [Float] = [1, 0, 1, 0, 0, 1]
        let predictions = try NearestNeighbourClassifier.predict(
            train: train, trainLabels: [2, 1, 0], test: [1, 0.1], dimension: 2, classes: 3,
            settings: [.init(neighbours: 1, temperature: 0.1), .init(neighbours: 2, temperature: 0.1)])
        #expect(predictions[0] == [2])
        #expect(predictions[1] == [1])  // classes 1 and 2 tie: the lower class index wins
    }

    @Test("Same inputs give identical accuracy; shape errors throw")
    func determinismAndErrors() throws {
        let (train, labels) = data(rows: 300, dimension: 8, classes: 3, seed: 7)
        let (test, testLabels) = data(rows: 80, dimension: 8, classes: 3, seed: 8)
        let first = try NearestNeighbourClassifier.evaluate(train: train, trainLabels: labels, test: test,
                                                            testLabels: testLabels, dimension: 8, classes: 3)
        let second = try NearestNeighbourClassifier.evaluate(train: train, trainLabels: labels, test: test,
                                                             testLabels: testLabels, dimension: 8, classes: 3)
        #expect(first == second)
        #expect(first[0] > 50)  // well above chance (33%) on separated clusters
        let metrics = try NearestNeighbourClassifier.metrics(train: train, trainLabels: labels, test: test,
                                                             testLabels: testLabels, dimension: 8, classes: 3)
        #expect(metrics == ["top1_k20_t0.07": first[0], "top1_k200_t0.1": first[1]])
        #expect(throws: EvaluationError.self) {
            try NearestNeighbourClassifier.evaluate(train: Array(train.dropLast()), trainLabels: labels, test: test,
                                                    testLabels: testLabels, dimension: 8, classes: 3)
        }
        #expect(throws: EvaluationError.self) {
            try NearestNeighbourClassifier.evaluate(train: train, trainLabels: labels.map { $0 + 1 }, test: test,
                                                    testLabels: testLabels, dimension: 8, classes: 3)
        }
    }
}
