import TensorCore

/// A per-sample random split of N tokens into kept and removed ones (MAE's `random_masking`).
///
/// Convention, stated once for every objective: in `removed`, **1 = removed** (masked, to be
/// reconstructed), 0 = kept. `keep[b]` and `drop[b]` list token indices in shuffle order;
/// `restore[b][i]` is token i's position in `keep[b] + drop[b]` (MAE's `ids_restore`).
public struct PatchMask: Equatable, Sendable {
    public var keep: [[Int]]
    public var drop: [[Int]]
    public let tokens: Int

    public init(keep: [[Int]], drop: [[Int]], tokens: Int) {
        precondition(keep.count == drop.count, "PatchMask: \(keep.count) keep lists, \(drop.count) drop lists")
        for (k, d) in zip(keep, drop) {
            precondition(Set(k + d) == Set(0..<tokens) && k.count + d.count == tokens, "PatchMask: not a split of 0..<\(tokens)")
        }
        self.keep = keep
        self.drop = drop
        self.tokens = tokens
    }

    /// MAE: keep the first ⌊N·(1 − ratio)⌋ of a uniform random permutation (argsort of
    /// uniform noise is one) for each of `batch` samples.
    public static func random(batch: Int, tokens n: Int, ratio: Double, rng: inout RandomStream) -> PatchMask {
        precondition(ratio >= 0 && ratio < 1, "mask ratio must be in [0, 1), got \(ratio)")
        let kept = Int(Double(n) * (1 - ratio))
        var keep: [[Int]] = [], drop: [[Int]] = []
        for _ in 0..<batch {
            let order = rng.permutation(n)
            keep.append(Array(order[..<kept]))
            drop.append(Array(order[kept...]))
        }
        return PatchMask(keep: keep, drop: drop, tokens: n)
    }

    public var batch: Int { keep.count }

    /// MAE's `ids_restore`: per sample, the position of each token in keep + drop.
    public var restore: [[Int]] {
        zip(keep, drop).map { k, d in
            var r = [Int](repeating: 0, count: tokens)
            for (position, token) in (k + d).enumerated() { r[token] = position }
            return r
        }
    }

    /// [B, N] of 0/1, 1 = removed.
    public func removedTensor(dtype: DType = .float32) -> Tensor {
        var values = [Double](repeating: 0, count: batch * tokens)
        for (b, d) in drop.enumerated() { for t in d { values[b * tokens + t] = 1 } }
        return Tensor(values, shape: [batch, tokens], dtype: dtype)
    }
}
