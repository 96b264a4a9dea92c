/// mIoU and aAcc as mmsegmentation computes them (`intersect_and_union` summed over the
/// dataset, then `total_area_to_metrics`), accumulated one prediction/label pair at a time.
///
/// Per class c over all pixels whose label is not `ignoreIndex`:
/// intersect[c] = #(pred == label == c), union[c] = #(pred == c) + #(label == c) − intersect[c].
/// IoU[c] = intersect / union, NaN when union is 0 (absent from both), skipped by the mean.
/// aAcc = Σ intersect / Σ #(label == c). Values are kept unrounded; mmseg rounds its log to
/// two decimals.
public struct SegmentationMetrics: Sendable, Equatable {
    public let classes: Int
    public let ignoreIndex: Int
    /// [classes] pixel counts summed over every pair added so far.
    public private(set) var areaIntersect: [Int64]
    public private(set) var areaPrediction: [Int64]
    public private(set) var areaLabel: [Int64]
    public private(set) var pairs = 0

    public init(classes: Int, ignoreIndex: Int = 255) {
        precondition(classes > 0, "classes must be positive")
        self.classes = classes
        self.ignoreIndex = ignoreIndex
        areaIntersect = [Int64](repeating: 0, count: classes)
        areaPrediction = areaIntersect
        areaLabel = areaIntersect
    }

    /// Adds one image. prediction, label: [H * W] class indices (any integer type).
    /// Labels must be in 0..<classes or the ignore index; predictions at non-ignored pixels
    /// must be in 0..<classes (mmseg's histc would silently drop them; we refuse instead).
    public mutating func add<P: BinaryInteger, L: BinaryInteger>(prediction: [P], label: [L],
                                                                 name: String = "pair") throws {
        guard prediction.count == label.count else {
            throw MetricsError.shapeMismatch("\(name): prediction has \(prediction.count) pixels, label \(label.count)")
        }
        var intersect = [Int64](repeating: 0, count: classes)
        var predicted = intersect
        var labelled = intersect
        for i in 0..<label.count {
            let l = Int(label[i])
            if l == ignoreIndex { continue }
            guard l >= 0 && l < classes else {
                throw MetricsError.labelOutOfRange("\(name): label \(l) at pixel \(i) (classes \(classes), ignore \(ignoreIndex))")
            }
            let p = Int(prediction[i])
            guard p >= 0 && p < classes else {
                throw MetricsError.labelOutOfRange("\(name): prediction \(p) at pixel \(i) (classes \(classes))")
            }
            labelled[l] += 1
            predicted[p] += 1
            if p == l { intersect[l] += 1 }
        }
        for c in 0..<classes {
            areaIntersect[c] += intersect[c]
            areaPrediction[c] += predicted[c]
            areaLabel[c] += labelled[c]
        }
        pairs += 1
    }

    /// Merges counts from another accumulator with the same classes (e.g. per-thread shards).
    public mutating func merge(_ other: SegmentationMetrics) {
        precondition(other.classes == classes && other.ignoreIndex == ignoreIndex, "incompatible accumulators")
        for c in 0..<classes {
            areaIntersect[c] += other.areaIntersect[c]
            areaPrediction[c] += other.areaPrediction[c]
            areaLabel[c] += other.areaLabel[c]
        }
        pairs += other.pairs
    }

    /// [classes] union = pred + label − intersect.
    public var areaUnion: [Int64] { (0..<classes).map { areaPrediction[$0] + areaLabel[$0] - areaIntersect[$0] } }

    /// [classes] IoU in 0...1, NaN for classes absent from both predictions and labels.
    public var intersectionOverUnion: [Double] {
        let union = areaUnion
        return (0..<classes).map { Double(areaIntersect[$0]) / Double(union[$0]) }
    }

    /// [classes] per-class accuracy intersect / label area, NaN for classes absent from labels.
    public var classAccuracy: [Double] { (0..<classes).map { Double(areaIntersect[$0]) / Double(areaLabel[$0]) } }

    /// nanmean of the per-class IoU, in percent (0–100); NaN if every class is NaN.
    public var meanIoU: Double { Self.nanMean(intersectionOverUnion) * 100 }

    /// nanmean of the per-class accuracy, in percent.
    public var meanAccuracy: Double { Self.nanMean(classAccuracy) * 100 }

    /// Σ intersect / Σ label area (pixel accuracy over non-ignored pixels), in percent.
    public var allAccuracy: Double {
        let intersect = areaIntersect.reduce(0, +)
        let labelled = areaLabel.reduce(0, +)
        return Double(intersect) / Double(labelled) * 100
    }

    /// The metrics of eval/seg.json: `mIoU` and `aAcc` in percent.
    public var record: [String: Double] { ["mIoU": meanIoU, "aAcc": allAccuracy] }

    /// `np.nanmean`: pairwise sum of the non-NaN entries over their count.
    static func nanMean(_ values: [Double]) -> Double {
        let kept = values.filter { !$0.isNaN }
        return kept.isEmpty ? .nan : NumpyCompatibility.mean(kept)
    }
}
