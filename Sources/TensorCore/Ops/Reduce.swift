/// Sum and mean over axes. A reduction over one axis views the tensor as
/// [outer, reduced, inner]; several axes are reduced one after another (highest first).
extension Tensor {
    /// Sum over `axes` (negative allowed). `keepDims` keeps them as size 1.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let norm = Array(Set(axes.map { ShapeMath.axis($0, rank: rank) })).sorted(by: >)
        var t = self
        for a in norm { t = t.sumAxis(a) }
        if keepDims { return t }
        var s: [Int] = []
        for (i, d) in shape.enumerated() where !norm.contains(i) { s.append(d) }
        return t.reshaped(s)
    }

    /// Sum of all elements (a scalar).
    public func sum() -> Tensor { reshaped([count]).sumAxis(0).reshaped([]) }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = axes.map { shape[ShapeMath.axis($0, rank: rank)] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1.0 / Double(n))
    }

    public func mean() -> Tensor { sum() * (1.0 / Double(count)) }

    /// Sum over one axis, kept as size 1.
    func sumAxis(_ axis: Int) -> Tensor {
        switch dtype {
        case .float32: return sumAxisImpl(axis, Float.self)
        case .float64: return sumAxisImpl(axis, Double.self)
        }
    }

    private func sumAxisImpl<S: KernelScalar>(_ axis: Int, _: S.Type) -> Tensor {
        let outer = shape[..<axis].reduce(1, *), r = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var outShape = shape
        outShape[axis] = 1
        let out = Storage(zeros: outer * inner, dtype: dtype)
        let x = storage.ptr(S.self), y = out.ptr(S.self)
        for o in 0..<outer {
            let yo = y + o * inner
            for j in 0..<r {
                let xo = x + (o * r + j) * inner
                for i in 0..<inner { yo[i] += xo[i] }
            }
        }
        return Tensor.result(outShape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: count, dtype: dtype)
            let gp = g.ptr(S.self), dp = d.ptr(S.self)
            for o in 0..<outer {
                for j in 0..<r { (dp + (o * r + j) * inner).update(from: gp + o * inner, count: inner) }
            }
            accumulate(d, owned: true)
        }
    }
}
