/// Fused layer normalisation over the last axis (PyTorch's biased variance):
///   y = (x − μ)/√(σ² + ε) · γ + β
/// Pullback (x̂ = normalised input, g = dy·γ, D = width):
///   dx = (1/σ̂)·(g − mean(g) − x̂·mean(g ⊙ x̂)),  dγ = Σ dy ⊙ x̂,  dβ = Σ dy.
extension Tensor {
    /// x [..., D], weight γ [D], bias β [D].
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Double) -> Tensor {
        let d = shape.last ?? 0
        precondition(weight.shape == [d] && bias.shape == [d], "layerNorm: x \(shape), weight \(weight.shape), bias \(bias.shape)")
        switch dtype {
        case .float32: return layerNormImpl(weight, bias, eps, Float.self)
        case .float64: return layerNormImpl(weight, bias, eps, Double.self)
        }
    }

    private func layerNormImpl<S: KernelScalar>(_ weight: Tensor, _ bias: Tensor, _ eps: Double, _: S.Type) -> Tensor {
        let d = shape.last!, rows = count / max(d, 1)
        let out = Storage(uninitializedCount: count, dtype: dtype)
        let xhat = Storage(uninitializedCount: count, dtype: dtype)
        let rstd = Storage(uninitializedCount: rows, dtype: dtype)
        let px = SendablePointer(storage.ptr(S.self)), py = SendablePointer(out.ptr(S.self))
        let ph = SendablePointer(xhat.ptr(S.self)), pr = SendablePointer(rstd.ptr(S.self))
        let pw = SendablePointer(weight.storage.ptr(S.self)), pb = SendablePointer(bias.storage.ptr(S.self))
        let e = S(eps), invD = 1 / S(d)
        Parallel.forEachChunk(rows, costPerItem: d * 3) { r in
            let w = pw.pointer, b = pb.pointer
            for row in r {
                let x = px.pointer + row * d, y = py.pointer + row * d, h = ph.pointer + row * d
                var mean: S = 0
                for j in 0..<d { mean += x[j] }
                mean *= invD
                var v: S = 0
                for j in 0..<d { let c = x[j] - mean; v += c * c }
                let rs = 1 / (v * invD + e).squareRoot()
                pr.pointer[row] = rs
                for j in 0..<d {
                    let hj = (x[j] - mean) * rs
                    h[j] = hj
                    y[j] = hj * w[j] + b[j]
                }
            }
        }
        return Tensor.result(shape, out, inputs: [self, weight, bias]) { [self] g in
            withExtendedLifetime((xhat, rstd)) {}
            let pg = SendablePointer(g.ptr(S.self))
            if requiresGrad {
                let dx = Storage(uninitializedCount: count, dtype: dtype)
                let pd = SendablePointer(dx.ptr(S.self))
                Parallel.forEachChunk(rows, costPerItem: d * 3) { r in
                    let w = pw.pointer
                    for row in r {
                        let dy = pg.pointer + row * d, h = ph.pointer + row * d, o = pd.pointer + row * d
                        var sg: S = 0, sgh: S = 0
                        for j in 0..<d { let gj = dy[j] * w[j]; sg += gj; sgh += gj * h[j] }
                        sg *= invD
                        sgh *= invD
                        let rs = pr.pointer[row]
                        for j in 0..<d { o[j] = rs * (dy[j] * w[j] - sg - h[j] * sgh) }
                    }
                }
                accumulate(dx, owned: true)
            }
            if weight.requiresGrad || bias.requiresGrad {
                // Row order is fixed (0..<rows) so the sums are reproducible.
                let dw = Storage(zeros: d, dtype: dtype), db = Storage(zeros: d, dtype: dtype)
                let w = dw.ptr(S.self), b = db.ptr(S.self)
                for row in 0..<rows {
                    let dy = pg.pointer + row * d, h = ph.pointer + row * d
                    for j in 0..<d { w[j] += dy[j] * h[j]; b[j] += dy[j] }
                }
                weight.accumulate(dw, owned: true)
                bias.accumulate(db, owned: true)
            }
        }
    }
}
