/// Losses, each fused with its softmax where it has one:
///   cross-entropy with hard labels: mean_i −log softmax(z_i)[y_i] (rows with the ignore label skipped);
///   cross-entropy with soft targets: mean_i −Σ_c t_ic · log softmax(z_i)_c;
///   MSE: mean (a − b)².
extension Tensor {
    /// logits [M, C], labels M ints in 0..<C (or `ignoreIndex`) → scalar mean over counted rows.
    public func crossEntropy(labels: [Int], ignoreIndex: Int? = nil) -> Tensor {
        precondition(rank == 2 && labels.count == shape[0], "crossEntropy: logits must be [M, C] with M labels, got \(shape), \(labels.count)")
        for y in labels where y != ignoreIndex {
            precondition(y >= 0 && y < shape[1], "crossEntropy: label \(y) out of range 0..<\(shape[1])")
        }
        switch dtype {
        case .float32: return crossEntropyImpl(labels, ignoreIndex, Float.self)
        case .float64: return crossEntropyImpl(labels, ignoreIndex, Double.self)
        }
    }

    private func crossEntropyImpl<S: KernelScalar>(_ labels: [Int], _ ignore: Int?, _: S.Type) -> Tensor {
        let m = shape[0], c = shape[1]
        let logp = Storage(uninitializedCount: count, dtype: dtype)
        let x = storage.ptr(S.self), lp = logp.ptr(S.self)
        var total: S = 0
        var counted = 0
        for i in 0..<m {
            RowKernels.softmaxRow(x + i * c, lp + i * c, c, log: true)
            if labels[i] != ignore { total -= lp[i * c + labels[i]]; counted += 1 }
        }
        let denom = S(max(counted, 1))
        let out = Storage(uninitializedCount: 1, dtype: dtype)
        out.ptr(S.self)[0] = total / denom
        return Tensor.result([], out, inputs: [self]) { [self] g in
            withExtendedLifetime(logp) {}
            let scale = g.ptr(S.self)[0] / denom
            let d = Storage(uninitializedCount: count, dtype: dtype)
            let dp = d.ptr(S.self)
            for i in 0..<m {
                let row = dp + i * c
                if labels[i] == ignore { row.update(repeating: 0, count: c); continue }
                S.vexp(lp + i * c, row, c)
                for j in 0..<c { row[j] *= scale }
                row[labels[i]] -= scale
            }
            accumulate(d, owned: true)
        }
    }

    /// logits [M, C], targets [M, C] (rows of probabilities; may require gradients, as a
    /// student–teacher pair does not) → scalar mean over rows of −Σ t·log softmax(z).
    public func crossEntropy(softTargets t: Tensor) -> Tensor {
        precondition(rank == 2 && t.shape == shape, "crossEntropy(softTargets:): logits \(shape) vs targets \(t.shape)")
        return -(t * logSoftmax()).sum() * (1.0 / Double(shape[0]))
    }

    /// Mean squared error over all elements.
    public static func mse(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "mse: shapes \(a.shape) vs \(b.shape)")
        return (a - b).square().mean()
    }

    /// x / max(‖x‖₂, eps) over the last axis (torch.nn.functional.normalize).
    public func l2Normalized(eps: Double = 1e-12) -> Tensor {
        let norm = square().sum(axes: [-1], keepDims: true).sqrt()
        return self / norm.clampMin(eps)
    }

    /// max(x, lower) elementwise; the gradient passes where x > lower.
    public func clampMin(_ lower: Double) -> Tensor {
        switch dtype {
        case .float32: return clampImpl(Float(lower))
        case .float64: return clampImpl(lower)
        }
    }

    private func clampImpl<S: KernelScalar>(_ lower: S) -> Tensor {
        let n = count
        let out = Storage(uninitializedCount: n, dtype: dtype)
        let x = storage.ptr(S.self), y = out.ptr(S.self)
        for i in 0..<n { y[i] = x[i] > lower ? x[i] : lower }
        return Tensor.result(shape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: n, dtype: dtype)
            let gp = g.ptr(S.self), dp = d.ptr(S.self)
            for i in 0..<n { dp[i] = x[i] > lower ? gp[i] : 0 }
            accumulate(d, owned: true)
        }
    }
}

extension Tensor {
    /// Elementwise binary cross-entropy on logits (torch's BCEWithLogitsLoss, reduction
    /// "none"), in its stable form ℓ(x, y) = max(x, 0) − x·y + log(1 + e^{−|x|}).
    /// Targets y (same shape, values in [0, 1]) are constants. Pullback: g·(σ(x) − y).
    public func binaryCrossEntropy(logitTargets y: Tensor) -> Tensor {
        precondition(y.shape == shape && y.dtype == dtype, "binaryCrossEntropy: logits \(shape) vs targets \(y.shape)")
        switch dtype {
        case .float32: return bceImpl(y, Float.self)
        case .float64: return bceImpl(y, Double.self)
        }
    }

    private func bceImpl<S: KernelScalar>(_ targets: Tensor, _: S.Type) -> Tensor {
        let n = count
        let out = Storage(uninitializedCount: n, dtype: dtype)
        let x = storage.ptr(S.self), y = targets.storage.ptr(S.self), o = out.ptr(S.self)
        for i in 0..<n {
            let a = x[i] < 0 ? -x[i] : x[i]
            o[i] = (x[i] > 0 ? x[i] : 0) - x[i] * y[i] + S.scalarLog(1 + S.scalarExp(-a))
        }
        return Tensor.result(shape, out, inputs: [self]) { [self] g in
            let d = Storage(uninitializedCount: n, dtype: dtype)
            let gp = g.ptr(S.self), dp = d.ptr(S.self)
            for i in 0..<n {
                let sigma = 1 / (1 + S.scalarExp(-x[i]))
                dp[i] = gp[i] * (sigma - y[i])
            }
            withExtendedLifetime(targets) {}
            accumulate(d, owned: true)
        }
    }
}
