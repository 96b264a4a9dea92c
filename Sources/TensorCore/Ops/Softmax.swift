/// Softmax and log-softmax over the last axis, with the max subtracted for stability.
/// Pullbacks: softmax dx = y ⊙ (dy − Σ dy⊙y); log-softmax dx = dy − softmax·Σ dy.
extension Tensor {
    public func softmax() -> Tensor { softmaxFamily(log: false) }
    public func logSoftmax() -> Tensor { softmaxFamily(log: true) }

    private func softmaxFamily(log: Bool) -> Tensor {
        switch dtype {
        case .float32: return softmaxImpl(log: log, Float.self)
        case .float64: return softmaxImpl(log: log, Double.self)
        }
    }

    private func softmaxImpl<S: KernelScalar>(log: Bool, _: S.Type) -> Tensor {
        let cols = shape.last ?? 1, rows = count / max(cols, 1)
        let out = Storage(uninitializedCount: count, dtype: dtype)
        let sx = SendablePointer(storage.ptr(S.self)), sy = SendablePointer(out.ptr(S.self))
        Parallel.forEachChunk(rows, costPerItem: cols * 4) { r in
            for row in r {
                RowKernels.softmaxRow(sx.pointer + row * cols, sy.pointer + row * cols, cols, log: log)
            }
        }
        return Tensor.result(shape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: count, dtype: dtype)
            let sg = SendablePointer(g.ptr(S.self)), sd = SendablePointer(d.ptr(S.self))
            Parallel.forEachChunk(rows, costPerItem: cols * 2) { r in
                for row in r {
                    let y = sy.pointer + row * cols, dy = sg.pointer + row * cols, dx = sd.pointer + row * cols
                    if log { RowKernels.logSoftmaxBackwardRow(y, dy, dx, cols) }
                    else { RowKernels.softmaxBackwardRow(y, dy, dx, cols) }
                }
            }
            accumulate(d, owned: true)
        }
    }
}

/// Per-row kernels shared by softmax, attention and the losses.
enum RowKernels {
    /// y = softmax(x) or log-softmax(x) of one row of n values (x and y may alias).
    @inline(__always)
    static func softmaxRow<S: KernelScalar>(_ x: UnsafeMutablePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int, log: Bool) {
        var m = -S.infinity
        for j in 0..<n where x[j] > m { m = x[j] }
        if m == -S.infinity { m = 0 }  // an all-masked row: uniform below (softmax), −∞ (log-softmax)
        for j in 0..<n { y[j] = x[j] - m }
        if log {
            let e = UnsafeMutablePointer<S>.allocate(capacity: n)
            defer { e.deallocate() }
            S.vexp(y, e, n)
            var s: S = 0
            for j in 0..<n { s += e[j] }
            if s == 0 { return }  // every score −∞: y keeps −∞, not −∞ − log 0 = NaN
            let ls = S.scalarLog(s)
            for j in 0..<n { y[j] -= ls }
        } else {
            S.vexp(y, y, n)
            var s: S = 0
            for j in 0..<n { s += y[j] }
            if s == 0 {  // every score −∞ (the max gives e⁰ = 1 otherwise): a uniform row, not 0/0
                let uniform = 1 / S(n)
                for j in 0..<n { y[j] = uniform }
                return
            }
            let inv = 1 / s
            for j in 0..<n { y[j] *= inv }
        }
    }

    @inline(__always)
    static func softmaxBackwardRow<S: KernelScalar>(_ y: UnsafeMutablePointer<S>, _ dy: UnsafeMutablePointer<S>,
                                                    _ dx: UnsafeMutablePointer<S>, _ n: Int) {
        var dot: S = 0
        for j in 0..<n { dot += dy[j] * y[j] }
        for j in 0..<n { dx[j] = y[j] * (dy[j] - dot) }
    }

    @inline(__always)
    static func logSoftmaxBackwardRow<S: KernelScalar>(_ y: UnsafeMutablePointer<S>, _ dy: UnsafeMutablePointer<S>,
                                                       _ dx: UnsafeMutablePointer<S>, _ n: Int) {
        var s: S = 0
        for j in 0..<n { s += dy[j] }
        S.vexp(y, dx, n)
        for j in 0..<n { dx[j] = dy[j] - dx[j] * s }
    }
}
