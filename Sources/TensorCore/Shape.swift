/// Shape glossary, used in every shape comment of PatchBench:
///   B batch · N tokens · D width · H heads · Dh head width (D / H) · C classes or channels ·
///   K queue length or kept tokens · P pixels per patch (p·p·3) · G grid side.
/// Tensors are dense, row-major (the last axis is contiguous), like PyTorch's default.
public enum ShapeMath {
    /// Number of elements of a shape (1 for a scalar, shape []).
    @inline(__always)
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// NumPy broadcasting of two shapes; nil when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides of `shape` viewed inside the broadcast shape `target`: 0 on broadcast axes.
    public static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        var s = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 || target[i + offset] == 1 {
            s[i + offset] = shape[i] == 1 ? 0 : own[i]
        }
        return s
    }

    /// Walks the rows (runs of the last axis) of `shape` in row-major order and calls
    /// `body(row, offset)`, where offset = Σ index[d]·strides[d] over the leading axes: the
    /// start of that row in a tensor laid out with `strides` (0 on broadcast axes).
    /// Shared by the broadcast, reduce-to-shape and permute copies.
    @inline(__always)
    public static func forEachRow(_ shape: [Int], strides: [Int], _ body: (_ row: Int, _ offset: Int) -> Void) {
        let rank = shape.count
        let rows = count(shape) / max(shape[rank - 1], 1)
        var idx = [Int](repeating: 0, count: rank)
        for row in 0..<rows {
            var offset = 0
            for d in 0..<(rank - 1) { offset += idx[d] * strides[d] }
            body(row, offset)
            var d = rank - 2
            while d >= 0 {
                idx[d] += 1
                if idx[d] < shape[d] { break }
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// Normalises a possibly negative axis.
    public static func axis(_ axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
        return a
    }
}
