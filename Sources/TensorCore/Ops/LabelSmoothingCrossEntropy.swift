/// Label-smoothing cross-entropy, timm's `LabelSmoothingCrossEntropy` (MAE's fine-tuning loss when
/// mixup is off): per row, (1 − ε)·(−log p_y) + ε·mean_c(−log p_c), averaged over the rows.
/// It equals the cross-entropy with the target (1 − ε)·onehot(y) + ε/C, so the pullback is
/// (softmax(z) − target) / M. Fused with its log-softmax like `crossEntropy(labels:)`.
extension Tensor {
    /// logits [M, C], labels M ints in 0..<C, ε in [0, 1) → scalar. ε = 0 is `crossEntropy(labels:)`.
    public func crossEntropy(labels: [Int], smoothing: Double) -> Tensor {
        precondition(rank == 2 && labels.count == shape[0] && shape[0] > 0,
                     "crossEntropy(smoothing:): logits must be [M, C] with M ≥ 1 labels, got \(shape), \(labels.count)")
        precondition(smoothing >= 0 && smoothing < 1, "label smoothing must be in [0, 1), got \(smoothing)")
        for y in labels { precondition(y >= 0 && y < shape[1], "crossEntropy(smoothing:): label \(y) out of range 0..<\(shape[1])") }
        switch dtype {
        case .float32: return smoothedImpl(labels, smoothing, Float.self)
        case .float64: return smoothedImpl(labels, smoothing, Double.self)
        }
    }

    private func smoothedImpl<S: KernelScalar>(_ labels: [Int], _ epsilon: Double, _: S.Type) -> Tensor {
        let m = shape[0], c = shape[1]
        let logp = Storage(uninitializedCount: count, dtype: dtype)
        let x = storage.ptr(S.self), lp = logp.ptr(S.self)
        let confidence = S(1 - epsilon), spread = S(epsilon) / S(c)
        var total: S = 0
        for i in 0..<m {
            let row = lp + i * c
            RowKernels.softmaxRow(x + i * c, row, c, log: true)
            var sum: S = 0
            for j in 0..<c { sum += row[j] }
            total -= confidence * row[labels[i]] + spread * sum
        }
        let out = Storage(uninitializedCount: 1, dtype: dtype)
        out.ptr(S.self)[0] = total / S(m)
        return Tensor.result([], out, inputs: [self]) { [self] g in
            withExtendedLifetime(logp) {}
            let scale = g.ptr(S.self)[0] / S(m)
            let d = Storage(uninitializedCount: count, dtype: dtype)
            let dp = d.ptr(S.self)
            for i in 0..<m {
                let row = dp + i * c
                S.vexp(lp + i * c, row, c)
                for j in 0..<c { row[j] = (row[j] - spread) * scale }
                row[labels[i]] -= confidence * scale
            }
            accumulate(d, owned: true)
        }
    }
}
