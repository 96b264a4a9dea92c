import TensorCore

/// A seeded stratified hold-out split: within each class the rows are shuffled (Fisher–Yates
/// from the given stream, classes in ascending order) and the first round(fraction · count) go
/// to the held-out part (at least one when the class has two or more rows). Both index lists
/// come back sorted ascending.
public enum StratifiedSplit {
    public static func split(labels: [Int32], classes: Int, heldOutFraction: Double,
                             rng: inout RandomStream) -> (kept: [Int], heldOut: [Int]) {
        precondition(heldOutFraction > 0 && heldOutFraction < 1, "held-out fraction must be in (0, 1)")
        var byClass = [[Int]](repeating: [], count: classes)
        for (index, label) in labels.enumerated() { byClass[Int(label)].append(index) }
        var kept: [Int] = []
        var heldOut: [Int] = []
        for var members in byClass {
            rng.shuffle(&members)
            var take = Int((heldOutFraction * Double(members.count)).rounded())
            if members.count >= 2 { take = min(max(take, 1), members.count - 1) } else { take = 0 }
            heldOut += members[0..<take]
            kept += members[take...]
        }
        return (kept.sorted(), heldOut.sorted())
    }

    /// Gathers rows [indices.count, D] from [N, D].
    public static func rows(_ values: [Float], dimension: Int, indices: [Int]) -> [Float] {
        var result = [Float]()
        result.reserveCapacity(indices.count * dimension)
        for i in indices { result += values[i * dimension..<(i + 1) * dimension] }
        return result
    }
}
