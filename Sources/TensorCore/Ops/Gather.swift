import Foundation

/// Row gather and scatter: the token selection of masking (MAE keeps 16 of 64 tokens),
/// windows (LoMaR) and neighbour sets (SelfPatch). Rows are the slices along axis 0 of a
/// tensor viewed as [R, rest…].
extension Tensor {
    /// out[i] = self[rows[i]]. Pullback: scatter-add into the selected rows, in index order.
    public func gatherRows(_ rows: [Int]) -> Tensor {
        let r = shape[0], inner = count / max(r, 1), elt = dtype.byteSize
        for i in rows { precondition(i >= 0 && i < r, "gatherRows: index \(i) out of range 0..<\(r)") }
        var outShape = shape
        outShape[0] = rows.count
        let out = Storage(uninitializedCount: rows.count * inner, dtype: dtype)
        for (k, i) in rows.enumerated() { memcpy(out.raw + k * inner * elt, storage.raw + i * inner * elt, inner * elt) }
        return Tensor.result(outShape, out, inputs: [self]) { [self] g in
            let d = Storage(zeros: count, dtype: dtype)
            Tensor.scatterAdd(g, rows: rows, inner: inner, into: d)
            accumulate(d, owned: true)
        }
    }

    /// A tensor of `rowCount` rows, zero except out[rows[i]] += self[i].
    public func scatterRows(_ rows: [Int], rowCount: Int) -> Tensor {
        precondition(rows.count == shape[0], "scatterRows: \(rows.count) indices for \(shape[0]) rows")
        for i in rows { precondition(i >= 0 && i < rowCount, "scatterRows: index \(i) out of range 0..<\(rowCount)") }
        let inner = count / max(shape[0], 1), elt = dtype.byteSize
        var outShape = shape
        outShape[0] = rowCount
        let out = Storage(zeros: rowCount * inner, dtype: dtype)
        Tensor.scatterAdd(storage, rows: rows, inner: inner, into: out)
        return Tensor.result(outShape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: count, dtype: dtype)
            for (k, i) in rows.enumerated() { memcpy(d.raw + k * inner * elt, g.raw + i * inner * elt, inner * elt) }
            accumulate(d, owned: true)
        }
    }

    static func scatterAdd(_ src: Storage, rows: [Int], inner: Int, into dst: Storage) {
        switch src.dtype {
        case .float32:
            for (k, i) in rows.enumerated() {
                let s = src.f32 + k * inner, d = dst.f32 + i * inner
                for j in 0..<inner { d[j] += s[j] }
            }
        case .float64:
            for (k, i) in rows.enumerated() {
                let s = src.f64 + k * inner, d = dst.f64 + i * inner
                for j in 0..<inner { d[j] += s[j] }
            }
        }
    }

    /// Per-sample token gather: x [B, N, D], indices[b] (K each) → [B, K, D].
    public func gatherTokens(_ indices: [[Int]]) -> Tensor {
        precondition(rank == 3 && indices.count == shape[0], "gatherTokens: x [B,N,D] and B index lists, got \(shape), \(indices.count)")
        let n = shape[1], k = indices.first?.count ?? 0
        var flat: [Int] = []
        flat.reserveCapacity(shape[0] * k)
        for (b, ids) in indices.enumerated() {
            precondition(ids.count == k, "gatherTokens: every sample needs the same number of indices")
            for i in ids {
                precondition(i >= 0 && i < n, "gatherTokens: token \(i) out of range 0..<\(n)")
                flat.append(b * n + i)
            }
        }
        return reshaped([shape[0] * n, shape[2]]).gatherRows(flat).reshaped([shape[0], k, shape[2]])
    }

    /// Per-sample token scatter: x [B, K, D] placed at indices[b] of N tokens, zeros elsewhere.
    public func scatterTokens(_ indices: [[Int]], tokenCount n: Int) -> Tensor {
        precondition(rank == 3 && indices.count == shape[0], "scatterTokens: x [B,K,D] and B index lists")
        var flat: [Int] = []
        for (b, ids) in indices.enumerated() { for i in ids { flat.append(b * n + i) } }
        return reshaped([shape[0] * shape[1], shape[2]]).scatterRows(flat, rowCount: shape[0] * n).reshaped([shape[0], n, shape[2]])
    }
}
