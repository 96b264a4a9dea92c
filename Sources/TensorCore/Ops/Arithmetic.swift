/// Elementwise add, sub, mul, div with NumPy broadcasting, and their pullbacks: the output
/// gradient is multiplied by the local derivative and summed back to each input's shape.
extension Tensor {
    enum BinaryOp { case add, sub, mul, div }

    static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        precondition(a.dtype == b.dtype, "dtype mismatch: \(a.dtype) vs \(b.dtype)")
        switch a.dtype {
        case .float32: return binaryImpl(a, b, op, Float.self)
        case .float64: return binaryImpl(a, b, op, Double.self)
        }
    }

    private static func binaryImpl<S: KernelScalar>(_ a: Tensor, _ b: Tensor, _ op: BinaryOp, _: S.Type) -> Tensor {
        guard let shape = ShapeMath.broadcast(a.shape, b.shape) else {
            preconditionFailure("cannot broadcast shapes \(a.shape) and \(b.shape)")
        }
        let n = ShapeMath.count(shape)
        let out = Storage(uninitializedCount: n, dtype: a.dtype)
        let o = out.ptr(S.self)
        // Materialise broadcast operands only when needed; the common same-shape and
        // "row vector" cases are handled by the contiguous loop below.
        let (pa, ta) = a.shape == shape ? (a.storage.ptr(S.self), nil as Storage?) : materialise(a, shape, S.self)
        let (pb, tb) = b.shape == shape ? (b.storage.ptr(S.self), nil as Storage?) : materialise(b, shape, S.self)
        let sa = SendablePointer(pa), sb = SendablePointer(pb), so = SendablePointer(o)
        Parallel.forEachChunk(n) { r in
            let x = sa.pointer, y = sb.pointer, z = so.pointer
            switch op {
            case .add: for i in r { z[i] = x[i] + y[i] }
            case .sub: for i in r { z[i] = x[i] - y[i] }
            case .mul: for i in r { z[i] = x[i] * y[i] }
            case .div: for i in r { z[i] = x[i] / y[i] }
            }
        }
        withExtendedLifetime((ta, tb)) {}
        return result(shape, out, inputs: [a, b]) { g in
            let gp = g.ptr(S.self)
            if a.requiresGrad {
                switch op {
                case .add, .sub:
                    a.accumulate(Kernels.reduceToShape(gp, shape: shape, target: a.shape, S.self), owned: true)
                case .mul, .div:
                    let t = Storage(uninitializedCount: n, dtype: a.dtype)
                    let tp = t.ptr(S.self)
                    let (bp, bt) = b.shape == shape ? (b.storage.ptr(S.self), nil as Storage?) : materialise(b, shape, S.self)
                    if op == .mul { for i in 0..<n { tp[i] = gp[i] * bp[i] } } else { for i in 0..<n { tp[i] = gp[i] / bp[i] } }
                    withExtendedLifetime(bt) {}
                    a.accumulate(Kernels.reduceToShape(tp, shape: shape, target: a.shape, S.self), owned: true)
                }
            }
            if b.requiresGrad {
                switch op {
                case .add:
                    b.accumulate(Kernels.reduceToShape(gp, shape: shape, target: b.shape, S.self), owned: true)
                case .sub:
                    let t = Storage(uninitializedCount: n, dtype: a.dtype)
                    let tp = t.ptr(S.self)
                    for i in 0..<n { tp[i] = -gp[i] }
                    b.accumulate(Kernels.reduceToShape(tp, shape: shape, target: b.shape, S.self), owned: true)
                case .mul, .div:
                    let t = Storage(uninitializedCount: n, dtype: a.dtype)
                    let tp = t.ptr(S.self)
                    let (ap, at) = a.shape == shape ? (a.storage.ptr(S.self), nil as Storage?) : materialise(a, shape, S.self)
                    let (bp, bt) = b.shape == shape ? (b.storage.ptr(S.self), nil as Storage?) : materialise(b, shape, S.self)
                    if op == .mul { for i in 0..<n { tp[i] = gp[i] * ap[i] } }
                    else { for i in 0..<n { tp[i] = -gp[i] * ap[i] / (bp[i] * bp[i]) } }
                    withExtendedLifetime((at, bt)) {}
                    b.accumulate(Kernels.reduceToShape(tp, shape: shape, target: b.shape, S.self), owned: true)
                }
            }
        }
    }

    private static func materialise<S: KernelScalar>(_ t: Tensor, _ shape: [Int], _: S.Type) -> (UnsafeMutablePointer<S>, Storage?) {
        let s = Storage(uninitializedCount: ShapeMath.count(shape), dtype: t.dtype)
        Kernels.broadcastCopy(t.storage.ptr(S.self), shape: t.shape, target: shape, into: s.ptr(S.self))
        return (s.ptr(S.self), s)
    }

    /// y = a·x + c elementwise (scalars a, c); the pullback multiplies by a.
    public func affine(scale a: Double, shift c: Double = 0) -> Tensor {
        switch dtype {
        case .float32: return affineImpl(Float(a), Float(c))
        case .float64: return affineImpl(a, c)
        }
    }

    private func affineImpl<S: KernelScalar>(_ a: S, _ c: S) -> Tensor {
        let n = count
        let out = Storage(uninitializedCount: n, dtype: dtype)
        let x = storage.ptr(S.self), y = out.ptr(S.self)
        for i in 0..<n { y[i] = a * x[i] + c }
        return Tensor.result(shape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: n, dtype: dtype)
            let gp = g.ptr(S.self), dp = d.ptr(S.self)
            for i in 0..<n { dp[i] = a * gp[i] }
            accumulate(d, owned: true)
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .div) }
    public static func + (a: Tensor, c: Double) -> Tensor { a.affine(scale: 1, shift: c) }
    public static func - (a: Tensor, c: Double) -> Tensor { a.affine(scale: 1, shift: -c) }
    public static func * (a: Tensor, c: Double) -> Tensor { a.affine(scale: c) }
    public static func * (c: Double, a: Tensor) -> Tensor { a.affine(scale: c) }
    public static func / (a: Tensor, c: Double) -> Tensor { a.affine(scale: 1 / c) }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1) }
}
