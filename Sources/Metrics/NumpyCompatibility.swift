/// Small numpy routines re-implemented operation for operation, so that values computed here
/// are bit-identical to the Python references (pycocotools, mmsegmentation) rather than merely
/// close: `linspace` decides IoU and recall thresholds, where one ulp flips a comparison.
public enum NumpyCompatibility {
    /// `np.linspace(start, stop, count)` (endpoint=True): `i * step + start` with
    /// `step = (stop - start) / (count - 1)`, and the last value set to `stop` exactly.
    public static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        precondition(count >= 2, "linspace needs at least two points, got \(count)")
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }

    /// `np.add.reduce` of a contiguous float64 array: numpy's pairwise summation (blocks of 8
    /// partial sums up to 128 elements, halving above that, `n2 -= n2 % 8`).
    public static func pairwiseSum(_ values: [Double]) -> Double {
        values.withUnsafeBufferPointer { pairwiseSum($0.baseAddress!, values.count) }
    }

    private static func pairwiseSum(_ a: UnsafePointer<Double>, _ n: Int) -> Double {
        if n < 8 {
            var result = 0.0
            for i in 0..<n { result += a[i] }
            return result
        } else if n <= 128 {
            var r = (0..<8).map { a[$0] }
            var i = 8
            while i < n - (n % 8) {
                for j in 0..<8 { r[j] += a[i + j] }
                i += 8
            }
            var result = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                result += a[i]
                i += 1
            }
            return result
        } else {
            var half = n / 2
            half -= half % 8
            return pairwiseSum(a, half) + pairwiseSum(a + half, n - half)
        }
    }

    /// `np.mean` of a 1-D float64 array (pairwise sum divided by the count).
    public static func mean(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "mean of an empty array")
        return pairwiseSum(values) / Double(values.count)
    }

    /// `np.argsort(-scores, kind='mergesort')`: indices by descending score, equal scores in
    /// their original order (a stable sort, which is what mergesort guarantees).
    public static func stableArgsortDescending(_ scores: [Double]) -> [Int] {
        Array(scores.indices).sorted { i, j in
            scores[i] != scores[j] ? scores[i] > scores[j] : i < j
        }
    }

    /// `np.searchsorted(sorted, value, side='left')`: the first index whose element is >= value.
    public static func searchSortedLeft(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// `np.spacing(1)`: the distance from 1.0 to the next double, 2^-52.
    public static let spacingOfOne = Double.ulpOfOne
}
