import TensorCore

/// Multi-head self-attention with a packed qkv projection (timm's `Attention`):
/// qkv = Linear(D, 3D); heads read from it in place; proj = Linear(D, D).
public final class SelfAttention: Module {
    public let qkv: Linear
    public let proj: Linear
    public let heads: Int

    public init(_ dimension: Int, heads: Int, qkvBias: Bool = true, initialization: WeightInitialization = .xavier,
                dtype: DType = .float32, rng: inout RandomStream) {
        precondition(dimension % heads == 0, "width \(dimension) is not divisible by \(heads) heads")
        self.heads = heads
        qkv = Linear(dimension, 3 * dimension, bias: qkvBias, initialization: initialization, dtype: dtype, rng: &rng)
        proj = Linear(dimension, dimension, initialization: initialization, dtype: dtype, rng: &rng)
    }

    /// x [B, N, D] → [B, N, D]. bias: additive attention bias [H, N, N] or [N, N] (e.g. a
    /// relative-position table, trainable); mask: additive constant [B, N, N] or [N, N].
    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        proj(Tensor.selfAttention(qkv: qkv(x), heads: heads, bias: bias, mask: mask))
    }

    /// The same with a bias computed from this layer's qkv [B, N, 3D] (a contextual relative
    /// position bias reads the queries).
    public func callAsFunction(_ x: Tensor, biasFromQKV: (Tensor) -> Tensor, mask: Tensor? = nil) -> Tensor {
        let projected = qkv(x)
        return proj(Tensor.selfAttention(qkv: projected, heads: heads, bias: biasFromQKV(projected), mask: mask))
    }

    public func namedParameters() -> [(String, Tensor)] { qkv.namedParameters(prefix: "qkv") + proj.namedParameters(prefix: "proj") }
}

/// Multi-head cross-attention: queries from x [B, Nq, D], keys and values from context [B, Nk, D].
public final class CrossAttention: Module {
    public let q: Linear
    public let k: Linear
    public let v: Linear
    public let proj: Linear
    public let heads: Int

    public init(_ dimension: Int, heads: Int, dtype: DType = .float32, rng: inout RandomStream) {
        precondition(dimension % heads == 0, "width \(dimension) is not divisible by \(heads) heads")
        self.heads = heads
        q = Linear(dimension, dimension, dtype: dtype, rng: &rng)
        k = Linear(dimension, dimension, dtype: dtype, rng: &rng)
        v = Linear(dimension, dimension, dtype: dtype, rng: &rng)
        proj = Linear(dimension, dimension, dtype: dtype, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor, context: Tensor, mask: Tensor? = nil) -> Tensor {
        proj(Tensor.attention(query: q(x), key: k(context), value: v(context), heads: heads, mask: mask))
    }

    public func namedParameters() -> [(String, Tensor)] {
        q.namedParameters(prefix: "q") + k.namedParameters(prefix: "k") + v.namedParameters(prefix: "v") + proj.namedParameters(prefix: "proj")
    }
}
