import Foundation
import Metrics
import TensorCore

/// Patch-level label propagation (`patchbench eval patch-knn`): a non-parametric dense probe,
/// DINO's DAVIS video-segmentation rule (`eval_video_segmentation.py`, `label_propagation`)
/// with a bank of labelled training patch tokens in place of the previous frames.
///
/// - Token labels: each training token takes the majority class of its patch's pixels; every
///   class of the pack votes (a background class too, where the pack has one), the ignore index
///   does not; ties go to the lower class. A patch whose pixels are all ignored has no label and
///   stays out of the bank. (DINO downsamples the first frame's mask by nearest neighbour; on
///   4-px patches that reads one pixel of 16, the majority reads them all.)
/// - Bank: the labelled training tokens, L2-normalised; when there are more than `bankSize`, a
///   uniform sample of `bankSize` of them drawn with the evaluation stream (partial Fisher–Yates),
///   kept in training order.
/// - Propagation: every test token's `neighbours` most similar bank tokens (cosine), weighted
///   exp(sim / T) / Σ_top-k exp(sim / T) (DINO: `aff = exp(bmm(feat_tar, feat_sources) / 0.1)`,
///   `topk(k=args.topk)`, entries below the k-th zeroed, columns normalised to sum 1), give the
///   token a class distribution Σ_j w_j onehot(label_j).
/// - To pixels: the distributions upsampled bilinearly to the mask size (align_corners=False,
///   DINO's `F.interpolate(..., scale_factor=patch_size)`), argmax, lowest class on ties; scored
///   with mmseg's mIoU/aAcc over labelled pixels (`SegmentationMetrics`) as the seg probe is.
///   Test tokens that no labelled pixel reads through the upsampling are not propagated (their
///   distributions stay 0), which leaves every scored pixel as it would be and halves the work.
///   DINO's `norm_mask` (per-frame min–max rescaling of each class map) is left out: it serves
///   a video whose few object ids all come from its first frame; over a bank of every class it
///   would lift a class's faintest trace vote to full strength in every image.
///   Nor is DINO's spatial window (`size_mask_neighborhood`) used: bank and test tokens come
///   from different images, so grid position carries no correspondence.
public enum PatchLabelPropagation {
    public struct Configuration: Sendable, Equatable {
        /// DINO `eval_video_segmentation.py`: `--topk` default 5.
        public var neighbours = 5
        /// DINO `label_propagation`: `torch.exp(... / 0.1)`.
        public var temperature = 0.1
        /// Labelled training tokens kept in the bank (nil: all).
        public var bankSize: Int? = 16_384
        public var ignoreIndex: UInt8 = 255

        public init() {}

        public var protocolSettings: [String: ProtocolValue] {
            ["head": .string("none: label propagation from a bank of labelled train patch tokens (DINO eval_video_segmentation.py label_propagation)"),
             "label_rule": .string("majority class of the patch's pixels (ignore index excluded, ties to the lower class); patches without labelled pixels are left out of the bank"),
             "similarity": .string("cosine of L2-normalised patch tokens"),
             "vote": .string("top-k neighbours weighted exp(similarity / T), normalised to sum 1, summed as one-hot labels; bilinear upsampling (align_corners=False) of the class distributions, argmax"),
             "neighbours": .integer(neighbours), "temperature": .number(temperature),
             "bank_limit": bankSize.map { .integer($0) } ?? .string("all"),
             "bank_sampling": .string("uniform without replacement from RandomStreams(seed).evaluation, kept in train order"),
             "ignore_index": .integer(Int(ignoreIndex))]
        }
    }

    /// Metrics plus what the protocol records about the bank.
    public struct Outcome: Sendable {
        public var metrics: SegmentationMetrics
        /// Training tokens with a label, and how many of them the bank holds.
        public var labelledTrainTokens: Int
        public var bankSize: Int
    }

    /// The label of every token of masks [count, H, W] on a gh × gw grid: [count · gh · gw],
    /// -1 where the patch has no labelled pixel. H and W must be multiples of gh and gw.
    public static func tokenLabels(masks: [UInt8], count: Int, maskHeight: Int, maskWidth: Int, gridHeight: Int,
                                   gridWidth: Int, classes: Int, ignoreIndex: UInt8 = 255) throws -> [Int32] {
        guard maskHeight > 0, maskWidth > 0, masks.count == count * maskHeight * maskWidth else {
            throw EvaluationError.invalidInput("patch-knn masks: \(masks.count) values, expected [\(count), \(maskHeight), \(maskWidth)]")
        }
        guard gridHeight > 0, gridWidth > 0, maskHeight % gridHeight == 0, maskWidth % gridWidth == 0 else {
            throw EvaluationError.invalidInput("patch-knn: masks \(maskHeight)x\(maskWidth) are not whole patches of a \(gridHeight)x\(gridWidth) grid")
        }
        let ph = maskHeight / gridHeight, pw = maskWidth / gridWidth
        var labels = [Int32](repeating: -1, count: count * gridHeight * gridWidth)
        var votes = [Int](repeating: 0, count: classes)
        for image in 0..<count {
            for gy in 0..<gridHeight {
                for gx in 0..<gridWidth {
                    for c in 0..<classes { votes[c] = 0 }
                    var labelled = false
                    for y in (gy * ph)..<((gy + 1) * ph) {
                        for x in (gx * pw)..<((gx + 1) * pw) {
                            let value = masks[(image * maskHeight + y) * maskWidth + x]
                            if value == ignoreIndex { continue }
                            guard Int(value) < classes else {
                                throw EvaluationError.invalidInput("patch-knn masks: label \(value) in image \(image) outside 0..<\(classes)")
                            }
                            votes[Int(value)] += 1
                            labelled = true
                        }
                    }
                    guard labelled else { continue }
                    var best = 0
                    for c in 1..<classes where votes[c] > votes[best] { best = c }
                    labels[(image * gridHeight + gy) * gridWidth + gx] = Int32(best)
                }
            }
        }
        return labels
    }

    /// The bank: indices of labelled tokens (`labels` ≥ 0), at most `limit` of them drawn
    /// uniformly with `rng`, in ascending order.
    public static func bankIndices(labels: [Int32], limit: Int?, rng: inout RandomStream) -> [Int] {
        let labelled = labels.indices.filter { labels[$0] >= 0 }
        guard let limit, labelled.count > limit else { return labelled }
        precondition(limit > 0, "bank size must be positive")
        var pool = labelled
        // Partial Fisher–Yates: the first `limit` slots become a uniform sample.
        for i in 0..<limit {
            let j = i + rng.nextInt(below: pool.count - i)
            if i != j { pool.swapAt(i, j) }
        }
        return pool[0..<limit].sorted()
    }

    /// Class distribution of every test token [Q, classes] (Double) from its nearest bank tokens.
    /// bank: [B, D] L2-normalised, bankLabels [B]; test: [Q, D] L2-normalised.
    public static func propagate(bank: [Float], bankLabels: [Int32], test: [Float], dimension: Int, classes: Int,
                          configuration: Configuration) -> [Double] {
        let testCount = test.count / dimension
        var distributions = [Double](repeating: 0, count: testCount * classes)
        var weights = [Double](repeating: 0, count: configuration.neighbours)
        NearestNeighbourClassifier.nearestRows(train: bank, test: test, dimension: dimension,
                                               neighbours: configuration.neighbours) { row, nearest in
            // exp(sim/T) normalised over the top k; sim ≤ 1, so exp(1/T) cannot overflow for T ≥ 0.002.
            var total = 0.0
            for (j, (_, similarity)) in nearest.enumerated() {
                weights[j] = Foundation.exp(Double(similarity) / configuration.temperature)
                total += weights[j]
            }
            for (j, (index, _)) in nearest.enumerated() {
                distributions[row * classes + Int(bankLabels[index])] += weights[j] / total
            }
        }
        return distributions
    }

    /// Builds the bank from the training tokens and masks, propagates labels to the test tokens
    /// and scores the upsampled predictions against the test masks. Tokens [count, gh, gw, D];
    /// masks [count, H, W] with labels in 0..<classes or the ignore index.
    public static func evaluate(trainTokens: [Float], trainShape: TokenGridShape, trainMasks: [UInt8],
                                testTokens: [Float], testShape: TokenGridShape, testMasks: [UInt8],
                                maskHeight: Int, maskWidth: Int, classes: Int,
                                configuration: Configuration = Configuration(),
                                rng: inout RandomStream) throws -> Outcome {
        try trainShape.check(trainTokens, name: "patch-knn train tokens")
        try testShape.check(testTokens, name: "patch-knn test tokens")
        guard (trainShape.gridHeight, trainShape.gridWidth, trainShape.dimension)
                == (testShape.gridHeight, testShape.gridWidth, testShape.dimension) else {
            throw EvaluationError.invalidInput("patch-knn: train tokens \(trainShape) and test tokens \(testShape) differ in grid or dimension")
        }
        guard classes >= 1, classes < Int(configuration.ignoreIndex) else {
            throw EvaluationError.invalidInput("patch-knn: classes must be in 1..<\(configuration.ignoreIndex), got \(classes)")
        }
        guard configuration.neighbours > 0, configuration.temperature > 0, (configuration.bankSize ?? 1) > 0 else {
            throw EvaluationError.invalidInput("patch-knn: k, T and the bank size must be positive")
        }
        let labels = try tokenLabels(masks: trainMasks, count: trainShape.count, maskHeight: maskHeight,
                                     maskWidth: maskWidth, gridHeight: trainShape.gridHeight,
                                     gridWidth: trainShape.gridWidth, classes: classes,
                                     ignoreIndex: configuration.ignoreIndex)
        let pixels = maskHeight * maskWidth
        guard testMasks.count == testShape.count * pixels else {
            throw EvaluationError.invalidInput("patch-knn test masks: \(testMasks.count) values, expected [\(testShape.count), \(maskHeight), \(maskWidth)]")
        }
        let chosen = bankIndices(labels: labels, limit: configuration.bankSize, rng: &rng)
        guard !chosen.isEmpty else {
            throw EvaluationError.invalidInput("patch-knn: no training patch has a labelled pixel")
        }
        let d = trainShape.dimension
        var bank = [Float](repeating: 0, count: chosen.count * d)
        for (row, token) in chosen.enumerated() {
            for j in 0..<d { bank[row * d + j] = trainTokens[token * d + j] }
        }
        let bankLabels = chosen.map { labels[$0] }
        let upsampling = BilinearUpsampling<Double>(inputHeight: testShape.gridHeight, inputWidth: testShape.gridWidth,
                                                    outputHeight: maskHeight, outputWidth: maskWidth)
        let normalisedBank = NearestNeighbourClassifier.normalisedRows(bank, dimension: d)
        var metrics = SegmentationMetrics(classes: classes, ignoreIndex: Int(configuration.ignoreIndex))
        let perImage = testShape.tokensPerImage
        // Images in chunks, so the distributions of the whole test set are never held at once.
        // Only tokens that are a bilinear tap of some labelled pixel are propagated: the others
        // cannot change a scored pixel (about half the tokens on scenes with background ignored).
        let chunk = 64
        for start in stride(from: 0, to: testShape.count, by: chunk) {
            let count = min(chunk, testShape.count - start)
            var queried: [Int] = []
            for image in start..<(start + count) {
                let reaching = upsampling.tokensReaching(testMasks[(image * pixels)..<((image + 1) * pixels)],
                                                         ignoreIndex: configuration.ignoreIndex)
                queried += reaching.indices.filter { reaching[$0] }.map { image * perImage + $0 }
            }
            var queries = [Float](repeating: 0, count: queried.count * d)
            for (row, token) in queried.enumerated() {
                for j in 0..<d { queries[row * d + j] = testTokens[token * d + j] }
            }
            let propagated = queried.isEmpty ? [] : propagate(
                bank: normalisedBank, bankLabels: bankLabels,
                test: NearestNeighbourClassifier.normalisedRows(queries, dimension: d), dimension: d,
                classes: classes, configuration: configuration)
            var distributions = [Double](repeating: 0, count: count * perImage * classes)
            for (row, token) in queried.enumerated() {
                let target = (token - start * perImage) * classes
                for c in 0..<classes { distributions[target + c] = propagated[row * classes + c] }
            }
            for image in 0..<count {
                let upsampled = upsampling.forward(
                    Array(distributions[(image * perImage * classes)..<((image + 1) * perImage * classes)]),
                    channels: classes)
                var prediction = [UInt8](repeating: 0, count: pixels)
                for p in 0..<pixels {
                    var best = 0
                    for c in 1..<classes where upsampled[p * classes + c] > upsampled[p * classes + best] { best = c }
                    prediction[p] = UInt8(best)
                }
                let index = start + image
                try metrics.add(prediction: prediction, label: Array(testMasks[(index * pixels)..<((index + 1) * pixels)]),
                                name: "image \(index)")
            }
        }
        return Outcome(metrics: metrics, labelledTrainTokens: labels.filter { $0 >= 0 }.count, bankSize: chosen.count)
    }
}
