/// Pointwise nonlinearities, each with its derivative beside it.
///
/// GELU comes in both of PyTorch's forms: exact, x·Φ(x) = ½x(1 + erf(x/√2)) (the default,
/// used by ViT/timm), and the tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
public enum UnaryOp: Sendable, Equatable {
    case exp, log, tanh, sigmoid, relu, sqrt, square
    case leakyRelu(slope: Double)
    case gelu
    case geluTanh
}

extension Tensor {
    public func exp() -> Tensor { unary(.exp) }
    public func log() -> Tensor { unary(.log) }
    public func tanh() -> Tensor { unary(.tanh) }
    public func sigmoid() -> Tensor { unary(.sigmoid) }
    public func relu() -> Tensor { unary(.relu) }
    public func sqrt() -> Tensor { unary(.sqrt) }
    public func square() -> Tensor { unary(.square) }
    public func leakyRelu(slope: Double = 0.01) -> Tensor { unary(.leakyRelu(slope: slope)) }
    /// GELU; `approximate: true` selects the tanh form.
    public func gelu(approximate: Bool = false) -> Tensor { unary(approximate ? .geluTanh : .gelu) }

    public func unary(_ op: UnaryOp) -> Tensor {
        switch dtype {
        case .float32: return unaryImpl(op, Float.self)
        case .float64: return unaryImpl(op, Double.self)
        }
    }

    private func unaryImpl<S: KernelScalar>(_ op: UnaryOp, _: S.Type) -> Tensor {
        let n = count
        let out = Storage(uninitializedCount: n, dtype: dtype)
        let sx = SendablePointer(storage.ptr(S.self)), sy = SendablePointer(out.ptr(S.self))
        Parallel.forEachChunk(n, costPerItem: 4) { r in
            UnaryKernels.forward(op, sx.pointer + r.lowerBound, sy.pointer + r.lowerBound, r.count)
        }
        return Tensor.result(shape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: n, dtype: dtype)
            let sg = SendablePointer(g.ptr(S.self)), sd = SendablePointer(d.ptr(S.self))
            Parallel.forEachChunk(n, costPerItem: 4) { r in
                let o = r.lowerBound
                UnaryKernels.backward(op, sx.pointer + o, sy.pointer + o, sg.pointer + o, sd.pointer + o, r.count)
            }
            accumulate(d, owned: true)
        }
    }
}

enum UnaryKernels {
    /// GELU's pullback dy·(Φ(x) + x·φ(x)), computed in chunks of 1,024 elements so the φ
    /// scratch stays in L1 instead of streaming whole-tensor temporaries through memory.
    static func geluBackward<S: KernelScalar>(_ x: UnsafeMutablePointer<S>, _ dy: UnsafeMutablePointer<S>,
                                              _ dx: UnsafeMutablePointer<S>, _ n: Int) {
        let chunk = 1024
        let phi = UnsafeMutablePointer<S>.allocate(capacity: chunk)
        defer { phi.deallocate() }
        let c = S(invSqrt2), k = S(invSqrt2Pi)
        var start = 0
        while start < n {
            let m = min(chunk, n - start)
            let xs = x + start, d = dx + start, g = dy + start
            for i in 0..<m { d[i] = xs[i] * c }
            S.verf(d, d, m)
            for i in 0..<m { phi[i] = S(-0.5) * xs[i] * xs[i] }
            S.vexp(phi, phi, m)
            for i in 0..<m { d[i] = g[i] * (S(0.5) * (1 + d[i]) + xs[i] * k * phi[i]) }
            start += m
        }
    }

    static let invSqrt2 = 0.70710678118654752440
    static let invSqrt2Pi = 0.39894228040143267794
    static let sqrt2OverPi = 0.79788456080286535588

    static func forward<S: KernelScalar>(_ op: UnaryOp, _ x: UnsafeMutablePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int) {
        switch op {
        case .exp: S.vexp(x, y, n)
        case .log: for i in 0..<n { y[i] = S.scalarLog(x[i]) }
        case .tanh: S.vtanh(x, y, n)
        case .sigmoid:
            inL1Chunks(x, y, n) { x, y, n in
                for i in 0..<n { y[i] = -x[i] }
                S.vexp(y, y, n)
                for i in 0..<n { y[i] = 1 / (1 + y[i]) }
            }
        case .relu: for i in 0..<n { y[i] = x[i] > 0 ? x[i] : 0 }
        case .sqrt: for i in 0..<n { y[i] = x[i].squareRoot() }
        case .square: for i in 0..<n { y[i] = x[i] * x[i] }
        case .leakyRelu(let slope):
            let s = S(slope)
            for i in 0..<n { y[i] = x[i] > 0 ? x[i] : s * x[i] }
        case .gelu:
            let c = S(invSqrt2)
            inL1Chunks(x, y, n) { x, y, n in
                for i in 0..<n { y[i] = x[i] * c }
                S.verf(y, y, n)
                for i in 0..<n { y[i] = S(0.5) * x[i] * (1 + y[i]) }
            }
        case .geluTanh:
            let c = S(sqrt2OverPi)
            inL1Chunks(x, y, n) { x, y, n in
                for i in 0..<n { y[i] = c * (x[i] + S(0.044715) * x[i] * x[i] * x[i]) }
                S.vtanh(y, y, n)
                for i in 0..<n { y[i] = S(0.5) * x[i] * (1 + y[i]) }
            }
        }
    }

    /// Runs an elementwise kernel of several passes over 1,024-element chunks, so its
    /// intermediate stays in L1 instead of streaming the whole tensor through memory once per
    /// pass (each element's operations, and so its bits, are the same).
    @inline(__always)
    private static func inL1Chunks<S>(_ x: UnsafeMutablePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int,
                                      _ kernel: (UnsafeMutablePointer<S>, UnsafeMutablePointer<S>, Int) -> Void) {
        var start = 0
        while start < n {
            let count = min(1024, n - start)
            kernel(x + start, y + start, count)
            start += count
        }
    }

    /// dx = dy · f'(x) (written, not accumulated). `y` is the forward output.
    static func backward<S: KernelScalar>(_ op: UnaryOp, _ x: UnsafeMutablePointer<S>, _ y: UnsafeMutablePointer<S>,
                                          _ dy: UnsafeMutablePointer<S>, _ dx: UnsafeMutablePointer<S>, _ n: Int) {
        switch op {
        case .exp: for i in 0..<n { dx[i] = dy[i] * y[i] }
        case .log: for i in 0..<n { dx[i] = dy[i] / x[i] }
        case .tanh: for i in 0..<n { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        case .sigmoid: for i in 0..<n { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        case .relu: for i in 0..<n { dx[i] = x[i] > 0 ? dy[i] : 0 }
        case .sqrt: for i in 0..<n { dx[i] = dy[i] / (2 * y[i]) }
        case .square: for i in 0..<n { dx[i] = dy[i] * 2 * x[i] }
        case .leakyRelu(let slope):
            let s = S(slope)
            for i in 0..<n { dx[i] = x[i] > 0 ? dy[i] : s * dy[i] }
        case .gelu:
            geluBackward(x, dy, dx, n)
        case .geluTanh:
            let c = S(sqrt2OverPi)
            for i in 0..<n { dx[i] = c * (x[i] + S(0.044715) * x[i] * x[i] * x[i]) }
            S.vtanh(dx, dx, n)
            for i in 0..<n {
                let t = dx[i]
                let inner = c * (1 + S(3 * 0.044715) * x[i] * x[i])
                dx[i] = dy[i] * (S(0.5) * (1 + t) + S(0.5) * x[i] * (1 - t * t) * inner)
            }
        }
    }
}
