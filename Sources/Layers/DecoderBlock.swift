import TensorCore

/// Pre-norm transformer decoder block: masked self-attention over the queries, cross-attention
/// to a memory, MLP (the decoder layer of Vaswani et al. in timm's pre-norm form):
///   x = x + SelfAttn(LN₁(x), selfMask)
///   x = x + CrossAttn(LN₂(x), memory, memoryMask)
///   x = x + MLP(LN₃(x))
/// The memory is used as given (RandSAC normalises and projects it once per layer).
public final class DecoderBlock: Module {
    public let norm1: LayerNorm
    public let attn: SelfAttention
    public let norm2: LayerNorm
    public let crossAttn: CrossAttention
    public let norm3: LayerNorm
    public let mlp: MLP

    public init(_ dimension: Int, heads: Int, mlpRatio: Double = 4, eps: Double = 1e-6, dtype: DType = .float32,
                rng: inout RandomStream) {
        norm1 = LayerNorm(dimension, eps: eps, dtype: dtype)
        attn = SelfAttention(dimension, heads: heads, dtype: dtype, rng: &rng)
        norm2 = LayerNorm(dimension, eps: eps, dtype: dtype)
        crossAttn = CrossAttention(dimension, heads: heads, dtype: dtype, rng: &rng)
        norm3 = LayerNorm(dimension, eps: eps, dtype: dtype)
        mlp = MLP(dimension, hidden: Int(Double(dimension) * mlpRatio), dtype: dtype, rng: &rng)
    }

    /// x [B, Nq, D], memory [B, Nk, D] → [B, Nq, D]. Masks: additive constants, [B, Nq, Nq] or
    /// [Nq, Nq] for the self-attention, [B, Nq, Nk] or [Nq, Nk] for the memory.
    public func callAsFunction(_ x: Tensor, memory: Tensor, selfMask: Tensor? = nil, memoryMask: Tensor? = nil) -> Tensor {
        precondition(x.rank == 3 && memory.rank == 3 && x.shape[0] == memory.shape[0] && x.shape[2] == memory.shape[2],
                     "decoder block: queries \(x.shape) and memory \(memory.shape) need one batch and one width")
        var h = x + attn(norm1(x), mask: selfMask)
        h = h + crossAttn(norm2(h), context: memory, mask: memoryMask)
        return h + mlp(norm3(h))
    }

    public func namedParameters() -> [(String, Tensor)] {
        norm1.namedParameters(prefix: "norm1") + attn.namedParameters(prefix: "attn")
            + norm2.namedParameters(prefix: "norm2") + crossAttn.namedParameters(prefix: "cross_attn")
            + norm3.namedParameters(prefix: "norm3") + mlp.namedParameters(prefix: "mlp")
    }
}
