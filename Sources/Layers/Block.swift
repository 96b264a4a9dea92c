import TensorCore

/// Pre-norm transformer block (timm's `Block`):
///   x = x + DropPath(Attn(LN(x)));  x = x + DropPath(MLP(LN(x)))
/// Drop-path (stochastic depth) zeroes a residual branch per sample with probability
/// `dropPath` and scales survivors by 1/(1 − p); it needs the caller's drop-path stream.
public final class Block: Module {
    public let norm1: LayerNorm
    public let attn: SelfAttention
    public let norm2: LayerNorm
    public let mlp: MLP
    public let dropPath: Double

    public init(_ dimension: Int, heads: Int, mlpRatio: Double = 4, qkvBias: Bool = true, dropPath: Double = 0,
                eps: Double = 1e-6, initialization: WeightInitialization = .xavier, dtype: DType = .float32,
                rng: inout RandomStream) {
        norm1 = LayerNorm(dimension, eps: eps, dtype: dtype)
        attn = SelfAttention(dimension, heads: heads, qkvBias: qkvBias, initialization: initialization, dtype: dtype, rng: &rng)
        norm2 = LayerNorm(dimension, eps: eps, dtype: dtype)
        mlp = MLP(dimension, hidden: Int(Double(dimension) * mlpRatio), initialization: initialization, dtype: dtype,
                  rng: &rng)
        self.dropPath = dropPath
    }

    /// x [B, N, D] → [B, N, D]. `dropPathRNG` nil (evaluation) disables drop-path.
    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil, mask: Tensor? = nil,
                               dropPathRNG: inout RandomStream?) -> Tensor {
        forward(x, attention: { attn($0, bias: bias, mask: mask) }, dropPathRNG: &dropPathRNG)
    }

    /// The same with the attention bias computed from this block's qkv (see `SelfAttention`).
    public func callAsFunction(_ x: Tensor, biasFromQKV: (Tensor) -> Tensor, mask: Tensor? = nil,
                               dropPathRNG: inout RandomStream?) -> Tensor {
        forward(x, attention: { attn($0, biasFromQKV: biasFromQKV, mask: mask) }, dropPathRNG: &dropPathRNG)
    }

    private func forward(_ x: Tensor, attention: (Tensor) -> Tensor, dropPathRNG: inout RandomStream?) -> Tensor {
        let a = residual(attention(norm1(x)), &dropPathRNG)
        let h = x + a
        return h + residual(mlp(norm2(h)), &dropPathRNG)
    }

    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        var none: RandomStream? = nil
        return self(x, bias: bias, mask: mask, dropPathRNG: &none)
    }

    private func residual(_ branch: Tensor, _ rng: inout RandomStream?) -> Tensor {
        guard dropPath > 0, var r = rng else { return branch }
        let b = branch.shape[0], keep = 1 - dropPath
        let scale = (0..<b).map { _ in r.nextDouble() < keep ? 1 / keep : 0 }
        rng = r
        return branch * Tensor(scale, shape: [b, 1, 1], dtype: branch.dtype)
    }

    public func namedParameters() -> [(String, Tensor)] {
        norm1.namedParameters(prefix: "norm1") + attn.namedParameters(prefix: "attn")
            + norm2.namedParameters(prefix: "norm2") + mlp.namedParameters(prefix: "mlp")
    }
}
