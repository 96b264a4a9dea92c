/// Mean and sample standard deviation computed on values shifted by the first one, so identical values give
/// exactly that value and a spread of exactly 0 (plain two-pass sums leave 1e-17 residues that print as noise).
public enum SampleStatistics {
    /// - Returns: the mean, and the sample standard deviation (n − 1 denominator), nil for fewer than two values.
    public static func meanAndStandardDeviation(_ values: [Double]) -> (mean: Double, standardDeviation: Double?) {
        precondition(!values.isEmpty, "statistics of no values")
        let shift = values[0]
        let n = Double(values.count)
        let shiftedMean = values.reduce(0) { $0 + ($1 - shift) } / n
        let mean = shift + shiftedMean
        guard values.count >= 2 else { return (mean, nil) }
        let sumSquares = values.reduce(0) { $0 + ($1 - shift - shiftedMean) * ($1 - shift - shiftedMean) }
        return (mean, (sumSquares / (n - 1)).squareRoot())
    }
}
