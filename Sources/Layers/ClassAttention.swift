import TensorCore

/// CaiT's class-attention block as SelfPatch uses it (alinlab/SelfPatch
/// selfpatch_vision_transformer.py `LayerScale_Block_CA` with `Class_Attention`; no layer scale,
/// no stochastic depth): u = [cls; x]; only cls forms the query, keys and values come from LN(u);
/// cls ← cls + proj(attention); cls ← cls + MLP(LN(cls)). x is not updated.
/// Keys: norm1, attn.q, attn.k, attn.v, attn.proj, norm2, mlp.fc1, mlp.fc2.
public final class ClassAttentionBlock: Module {
    public let heads: Int
    public let norm1: LayerNorm
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let projection: Linear
    public let norm2: LayerNorm
    public let mlp: MLP

    /// Linear weights N(0, 0.02) truncated, zero biases (SelfPatchHead's `_init_weights`).
    public init(_ dimension: Int, heads: Int, mlpRatio: Double = 4, eps: Double = 1e-6, dtype: DType = .float32,
                rng: inout RandomStream) {
        precondition(dimension % heads == 0, "class attention: dimension \(dimension) not divisible by \(heads) heads")
        self.heads = heads
        func linear(_ i: Int, _ o: Int) -> Linear {
            Linear(weight: Initializer.truncatedNormal([o, i], std: 0.02, dtype: dtype, rng: &rng),
                   bias: Initializer.constant(0, [o], dtype: dtype))
        }
        norm1 = LayerNorm(dimension, eps: eps, dtype: dtype)
        query = linear(dimension, dimension)
        key = linear(dimension, dimension)
        value = linear(dimension, dimension)
        projection = linear(dimension, dimension)
        norm2 = LayerNorm(dimension, eps: eps, dtype: dtype)
        let hidden = Int(Double(dimension) * mlpRatio)
        mlp = MLP(fc1: linear(dimension, hidden), fc2: linear(hidden, dimension))
    }

    /// x [N, T, D], cls [N, 1, D] → the updated cls [N, 1, D].
    public func callAsFunction(_ x: Tensor, cls: Tensor) -> Tensor {
        let n = x.shape[0], t = x.shape[1] + 1, d = x.shape[2], h = heads, hd = d / h
        precondition(cls.shape == [n, 1, d], "class attention: cls \(cls.shape) for tokens \(x.shape)")
        let u = norm1(Tensor.concat([cls, x], axis: 1))                                   // [N, T, D]
        let q = (query(u.slice(axis: 1, 0..<1)) * (1 / Double(hd).squareRoot()))        // scale after q, as the code
            .reshaped([n, 1, h, hd]).permuted([0, 2, 1, 3])                              // [N, H, 1, hd]
        let k = key(u).reshaped([n, t, h, hd]).permuted([0, 2, 1, 3])                   // [N, H, T, hd]
        let v = value(u).reshaped([n, t, h, hd]).permuted([0, 2, 1, 3])
        let attention = Tensor.matmul(q, k, transposeB: true).softmax()                  // [N, H, 1, T]
        let mixed = Tensor.matmul(attention, v).permuted([0, 2, 1, 3]).reshaped([n, 1, d])
        let c = cls + projection(mixed)
        return c + mlp(norm2(c))
    }

    public func namedParameters() -> [(String, Tensor)] {
        norm1.namedParameters(prefix: "norm1") + query.namedParameters(prefix: "attn.q")
            + key.namedParameters(prefix: "attn.k") + value.namedParameters(prefix: "attn.v")
            + projection.namedParameters(prefix: "attn.proj") + norm2.namedParameters(prefix: "norm2")
            + mlp.namedParameters(prefix: "mlp")
    }
}
