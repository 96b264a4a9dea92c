/// Per-column standardisation fitted on training rows and then frozen: x' = (x − mean) / std,
/// with the population std (ddof 0) and std 0 replaced by 1, as scikit-learn's StandardScaler.
public struct FeatureStandardizer: Sendable, Equatable {
    /// [D] column means and scales.
    public let mean: [Double]
    public let scale: [Double]

    public var dimension: Int { mean.count }

    public init(mean: [Double], scale: [Double]) {
        precondition(mean.count == scale.count, "mean and scale must have the same length")
        self.mean = mean
        self.scale = scale
    }

    /// Fits on rows: [N, D] row-major, N = rows.count / dimension. Sums in Double, two passes.
    public init(fitting rows: [Float], dimension: Int) {
        precondition(dimension > 0 && rows.count % dimension == 0 && !rows.isEmpty, "rows must be [N, \(dimension)]")
        let count = rows.count / dimension
        var mean = [Double](repeating: 0, count: dimension)
        for i in 0..<count { for j in 0..<dimension { mean[j] += Double(rows[i * dimension + j]) } }
        for j in 0..<dimension { mean[j] /= Double(count) }
        var variance = [Double](repeating: 0, count: dimension)
        for i in 0..<count {
            for j in 0..<dimension {
                let centred = Double(rows[i * dimension + j]) - mean[j]
                variance[j] += centred * centred
            }
        }
        self.mean = mean
        self.scale = variance.map { v in
            let std = (v / Double(count)).squareRoot()
            return std == 0 ? 1 : std
        }
    }

    /// The identity transform (raw features).
    public static func identity(dimension: Int) -> FeatureStandardizer {
        FeatureStandardizer(mean: [Double](repeating: 0, count: dimension), scale: [Double](repeating: 1, count: dimension))
    }

    /// rows: [N, D] → standardised [N, D] in Double.
    public func apply(_ rows: [Float]) -> [Double] {
        precondition(rows.count % dimension == 0, "rows must be [N, \(dimension)]")
        var result = [Double](repeating: 0, count: rows.count)
        for i in 0..<(rows.count / dimension) {
            for j in 0..<dimension { result[i * dimension + j] = (Double(rows[i * dimension + j]) - mean[j]) / scale[j] }
        }
        return result
    }

    /// rows: [N, D] → standardised [N, D] in Float (for the Float heads).
    public func applyFloat(_ rows: [Float]) -> [Float] { apply(rows).map { Float($0) } }
}
