import Foundation

/// Reshape (shares storage), permute/transpose (copies), concat, split and slice.
extension Tensor {
    /// Same elements, new shape; one dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        precondition(ShapeMath.count(s) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if s == shape { return self }
        return Tensor.result(s, storage, inputs: [self]) { [self] g in accumulate(g, owned: true) }
    }

    /// Reorders axes: output axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permutation \(order) invalid for rank \(rank)")
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        let out = Storage(uninitializedCount: count, dtype: dtype)
        Tensor.permuteCopy(storage, shape: shape, order: order, into: out)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.result(outShape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: count, dtype: dtype)
            Tensor.permuteCopy(g, shape: outShape, order: inverse, into: d)
            accumulate(d, owned: true)
        }
    }

    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(ShapeMath.axis(a, rank: rank), ShapeMath.axis(b, rank: rank))
        return permuted(order)
    }

    static func permuteCopy(_ src: Storage, shape: [Int], order: [Int], into dst: Storage) {
        let elt = src.dtype.byteSize
        let rank = shape.count
        let inStrides = ShapeMath.strides(shape)
        let outShape = order.map { shape[$0] }
        let strides = order.map { inStrides[$0] }
        // Copy runs of the output's last axis; when it is also the input's last axis the run is contiguous.
        let inner = outShape[rank - 1], innerStride = strides[rank - 1]
        ShapeMath.forEachRow(outShape, strides: strides) { row, off in
            let dstRow = dst.raw + row * inner * elt
            if innerStride == 1 {
                memcpy(dstRow, src.raw + off * elt, inner * elt)
            } else if elt == 4 {
                let s = src.f32 + off, o = dstRow.assumingMemoryBound(to: Float.self)
                for j in 0..<inner { o[j] = s[j * innerStride] }
            } else {
                let s = src.f64 + off, o = dstRow.assumingMemoryBound(to: Double.self)
                for j in 0..<inner { o[j] = s[j * innerStride] }
            }
        }
    }

    /// Concatenates along `axis`; all other dimensions must match.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of nothing")
        let rank = parts[0].rank
        let ax = ShapeMath.axis(axis, rank: rank)
        for p in parts {
            precondition(p.rank == rank && p.dtype == parts[0].dtype, "concat: rank/dtype mismatch")
            for d in 0..<rank where d != ax {
                precondition(p.shape[d] == parts[0].shape[d], "concat along \(ax): shapes \(parts.map(\.shape)) differ off-axis")
            }
        }
        var outShape = parts[0].shape
        outShape[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
        let elt = parts[0].dtype.byteSize
        let outer = outShape[..<ax].reduce(1, *), inner = outShape[(ax + 1)...].reduce(1, *)
        let out = Storage(uninitializedCount: ShapeMath.count(outShape), dtype: parts[0].dtype)
        let outRow = outShape[ax] * inner
        var offset = 0
        var offsets: [Int] = []
        for p in parts {
            let w = p.shape[ax] * inner
            for o in 0..<outer { memcpy(out.raw + (o * outRow + offset) * elt, p.storage.raw + o * w * elt, w * elt) }
            offsets.append(offset)
            offset += w
        }
        return result(outShape, out, inputs: parts) { g in
            for (p, off) in zip(parts, offsets) where p.requiresGrad {
                let w = p.shape[ax] * inner
                let d = Storage(uninitializedCount: p.count, dtype: p.dtype)
                for o in 0..<outer { memcpy(d.raw + o * w * elt, g.raw + (o * outRow + off) * elt, w * elt) }
                p.accumulate(d, owned: true)
            }
        }
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax], "slice \(range) out of bounds for axis \(ax) of \(shape)")
        var outShape = shape
        outShape[ax] = range.count
        let elt = dtype.byteSize
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        let w = range.count * inner, row = shape[ax] * inner, start = range.lowerBound * inner
        let out = Storage(uninitializedCount: outer * w, dtype: dtype)
        for o in 0..<outer { memcpy(out.raw + o * w * elt, storage.raw + (o * row + start) * elt, w * elt) }
        return Tensor.result(outShape, out, inputs: [self]) { [self] g in
            let d = Storage(zeros: count, dtype: dtype)
            for o in 0..<outer { memcpy(d.raw + (o * row + start) * elt, g.raw + o * w * elt, w * elt) }
            accumulate(d, owned: true)
        }
    }

    /// Splits along `axis` into consecutive pieces of the given sizes.
    public func split(_ sizes: [Int], axis: Int) -> [Tensor] {
        let ax = ShapeMath.axis(axis, rank: rank)
        precondition(sizes.reduce(0, +) == shape[ax], "split sizes \(sizes) do not sum to \(shape[ax])")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return slice(axis: ax, start..<(start + s))
        }
    }
}
