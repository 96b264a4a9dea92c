import Foundation

/// Weighted k-nearest-neighbour classification on frozen features, as DINO's `eval_knn.py`
/// (`knn_classifier`): features are L2-normalised, similarity is the cosine (a dot product),
/// the k most similar training rows vote for their label with weight exp(similarity / T), and
/// the class with the largest summed weight wins.
///
/// Ties (not specified by DINO, where torch.topk/sort decide): among equal similarities the
/// lower training index ranks first; among equal class scores the lower class index wins.
/// Similarities are Float (sgemm) as in DINO; weights and votes are summed in Double in
/// neighbour order (most similar first).
public enum NearestNeighbourClassifier {
    /// One (k, T) setting, e.g. DINO's (20, 0.07), or (200, 0.1) of the MoCo k-NN monitor.
    public struct Setting: Sendable, Equatable {
        public var neighbours: Int
        public var temperature: Double
        public init(neighbours: Int, temperature: Double) {
            precondition(neighbours > 0 && temperature > 0, "k and T must be positive")
            self.neighbours = neighbours
            self.temperature = temperature
        }
        /// Metric key of run-layout.md, e.g. `top1_k20_t0.07`.
        public var metricName: String { "top1_k\(neighbours)_t\(temperature)" }
    }

    /// DINO's eval_knn.py uses T = 0.07 for every k (its default k list is 10, 20, 100, 200);
    /// the second setting, k = 200 at T = 0.1, is the MoCo / InstDisc k-NN monitor's, kept as a
    /// wider-neighbourhood reading. The metric keys name both numbers.
    public static let dinoSettings = [Setting(neighbours: 20, temperature: 0.07),
                                      Setting(neighbours: 200, temperature: 0.1)]

    /// Predicted class per test row, one array per setting.
    /// train: [N, D], test: [Q, D] (not necessarily normalised), trainLabels: [N] in 0..<classes.
    public static func predict(train: [Float], trainLabels: [Int32], test: [Float], dimension: Int, classes: Int,
                               settings: [Setting] = dinoSettings, chunkRows: Int = 256) throws -> [[Int32]] {
        let trainCount = trainLabels.count
        try InputChecks.features(train, rows: trainCount, dimension: dimension, name: "k-NN train features")
        try InputChecks.labels(trainLabels, classes: classes, name: "k-NN train labels")
        guard test.count % dimension == 0, !test.isEmpty else {
            throw EvaluationError.invalidInput("k-NN test features: \(test.count) values do not form rows of \(dimension)")
        }
        let testCount = test.count / dimension
        try InputChecks.features(test, rows: testCount, dimension: dimension, name: "k-NN test features")
        let largestK = min(settings.map(\.neighbours).max() ?? 1, trainCount)
        var predictions = [[Int32]](repeating: [Int32](repeating: 0, count: testCount), count: settings.count)
        var votes = [Double](repeating: 0, count: classes)
        nearestRows(train: normalisedRows(train, dimension: dimension), test: normalisedRows(test, dimension: dimension),
                    dimension: dimension, neighbours: largestK, chunkRows: chunkRows) { row, neighbours in
            for (s, setting) in settings.enumerated() {
                for c in 0..<classes { votes[c] = 0 }
                for (index, value) in neighbours.prefix(setting.neighbours) {
                    votes[Int(trainLabels[index])] += Foundation.exp(Double(value) / setting.temperature)
                }
                var best = 0
                for c in 1..<max(classes, 1) where votes[c] > votes[best] { best = c }
                predictions[s][row] = Int32(best)
            }
        }
        return predictions
    }

    /// Top-1 accuracy in percent for each setting.
    public static func evaluate(train: [Float], trainLabels: [Int32], test: [Float], testLabels: [Int32],
                                dimension: Int, classes: Int, settings: [Setting] = dinoSettings) throws -> [Double] {
        try InputChecks.labels(testLabels, classes: classes, name: "k-NN test labels")
        guard test.count == testLabels.count * dimension else {
            throw EvaluationError.invalidInput("k-NN: \(test.count / max(dimension, 1)) test rows but \(testLabels.count) labels")
        }
        let predictions = try predict(train: train, trainLabels: trainLabels, test: test, dimension: dimension,
                                      classes: classes, settings: settings)
        return predictions.map { predicted in
            let correct = zip(predicted, testLabels).filter { $0 == $1 }.count
            return 100 * Double(correct) / Double(testLabels.count)
        }
    }

    /// The metrics of eval/knn.json: top-1 (percent) keyed by `Setting.metricName`.
    public static func metrics(train: [Float], trainLabels: [Int32], test: [Float], testLabels: [Int32],
                               dimension: Int, classes: Int, settings: [Setting] = dinoSettings) throws -> [String: Double] {
        let accuracies = try evaluate(train: train, trainLabels: trainLabels, test: test, testLabels: testLabels,
                                      dimension: dimension, classes: classes, settings: settings)
        return Dictionary(uniqueKeysWithValues: zip(settings.map(\.metricName), accuracies))
    }

    /// The `neighbours` most similar rows of `train` [N, D] for every row of `test` [Q, D], both
    /// already L2-normalised: `body(testRow, [(trainIndex, similarity)])`, most similar first
    /// (lower index first among equals), called in test-row order. Similarities are computed by
    /// sgemm in chunks of `chunkRows` test rows (the k-NN probe and the patch label propagation share this).
    static func nearestRows(train: [Float], test: [Float], dimension: Int, neighbours: Int, chunkRows: Int = 256,
                            body: (Int, [(Int, Float)]) throws -> Void) rethrows {
        let trainCount = train.count / dimension
        let testCount = test.count / dimension
        precondition(trainCount * dimension == train.count && testCount * dimension == test.count && trainCount > 0,
                     "rows of \(dimension)")
        let k = min(neighbours, trainCount)
        var similarity = [Float](repeating: 0, count: min(chunkRows, testCount) * trainCount)
        for start in stride(from: 0, to: testCount, by: chunkRows) {
            let rows = min(chunkRows, testCount - start)
            // similarity [rows, N] = test[start..<start+rows] · trainᵀ
            test.withUnsafeBufferPointer { q in
                train.withUnsafeBufferPointer { t in
                    similarity.withUnsafeMutableBufferPointer { s in
                        MatrixProducts.sgemm(transposeB: true, m: rows, n: trainCount, k: dimension,
                                             a: q.baseAddress! + start * dimension, lda: dimension,
                                             b: t.baseAddress!, ldb: dimension, c: s.baseAddress!, ldc: trainCount)
                    }
                }
            }
            for row in 0..<rows {
                let nearest = similarity.withUnsafeBufferPointer {
                    topK(UnsafeBufferPointer(rebasing: $0[row * trainCount..<(row + 1) * trainCount]), k: k)
                }
                try body(start + row, nearest)
            }
        }
    }

    /// Rows divided by max(‖row‖₂, 1e-12), as torch.nn.functional.normalize. The norm is summed in Double.
    public static func normalisedRows(_ values: [Float], dimension: Int) -> [Float] {
        var result = values
        for row in 0..<(values.count / dimension) {
            var sum = 0.0
            for j in 0..<dimension { sum += Double(values[row * dimension + j]) * Double(values[row * dimension + j]) }
            let scale = Float(1 / max(sum.squareRoot(), 1e-12))
            for j in 0..<dimension { result[row * dimension + j] *= scale }
        }
        return result
    }

    /// The k largest entries as (index, value), largest first, lower index first among equals.
    /// A bounded binary min-heap keyed by (value, −index), so O(N log k).
    static func topK(_ values: UnsafeBufferPointer<Float>, k: Int) -> [(Int, Float)] {
        // "a ranks below b": smaller value, or equal value and larger index.
        @inline(__always) func below(_ a: (Int, Float), _ b: (Int, Float)) -> Bool {
            a.1 < b.1 || (a.1 == b.1 && a.0 > b.0)
        }
        var heap: [(Int, Float)] = []
        heap.reserveCapacity(k)
        for index in 0..<values.count {
            let item = (index, values[index])
            if heap.count < k {
                heap.append(item)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    if below(heap[child], heap[parent]) { heap.swapAt(child, parent); child = parent } else { break }
                }
            } else if below(heap[0], item) {
                heap[0] = item
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    let right = left + 1
                    var smallest = parent
                    if left < k && below(heap[left], heap[smallest]) { smallest = left }
                    if right < k && below(heap[right], heap[smallest]) { smallest = right }
                    if smallest == parent { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
        }
        return heap.sorted { below($1, $0) }
    }
}
