import CBLAS

/// Fused scaled-dot-product attention, forward and backward:
///   S = q·kᵀ/√Dh + bias + mask,  P = softmax(S),  O = P·v        (per batch b and head h)
/// Pullback: dV = Pᵀ·dO; dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P)); dQ = dS·K/√Dh;
/// dK = dSᵀ·Q/√Dh; dBias = Σ_b dS (or dS itself for a per-batch bias). The mask is a
/// constant (no gradient). A per-batch bias [B, H, Nq, Nk] carries query-dependent terms
/// (LoMaR's contextual relative position, q_i·r_b(i,j)), whose gradient reaches q through it.
///
/// Heads are read in place from the [B, N, D] (or packed [B, N, 3D]) projections through the
/// GEMM leading dimensions, so no permute copies are made. The B·H small products are split
/// over the kernel workers with OpenBLAS pinned to one thread inside, so every (b, h) product
/// is one single-threaded GEMM call whatever the worker count: bits do not depend on threads.
extension Tensor {
    /// Self-attention from the packed qkv projection [B, N, 3D] (timm's layout: q, k, v
    /// blocks of D, each split into H heads of Dh) → [B, N, D].
    /// bias: [H, N, N] or [N, N] (trainable, e.g. a relative-position table), or per batch
    /// [B, H, N, N] (e.g. a contextual relative position computed from q); mask: additive
    /// [B, N, N] or [N, N] (use −∞ or a large negative value to block).
    public static func selfAttention(qkv: Tensor, heads: Int, bias: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0, "selfAttention: qkv must be [B, N, 3D] with D divisible by heads, got \(qkv.shape)")
        let d = qkv.shape[2] / 3
        let n = qkv.shape[1]
        let q = AttentionOperand(tensor: qkv, columnOffset: 0, tokens: n, width: d)
        let k = AttentionOperand(tensor: qkv, columnOffset: d, tokens: n, width: d)
        let v = AttentionOperand(tensor: qkv, columnOffset: 2 * d, tokens: n, width: d)
        return attentionCore(q, k, v, heads: heads, bias: bias, mask: mask, inputs: [qkv])
    }

    /// Attention with separate q [B, Nq, D], k [B, Nk, D], v [B, Nk, D] (cross-attention).
    public static func attention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                                 bias: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && value.shape == key.shape && query.shape[0] == key.shape[0]
                     && query.shape[2] == key.shape[2] && query.shape[2] % heads == 0,
                     "attention: q \(query.shape), k \(key.shape), v \(value.shape), heads \(heads)")
        let d = query.shape[2]
        let q = AttentionOperand(tensor: query, columnOffset: 0, tokens: query.shape[1], width: d)
        let k = AttentionOperand(tensor: key, columnOffset: 0, tokens: key.shape[1], width: d)
        let v = AttentionOperand(tensor: value, columnOffset: 0, tokens: value.shape[1], width: d)
        precondition(query !== key && key !== value && query !== value, "attention: pass distinct q, k, v tensors (use selfAttention for packed qkv)")
        let inputs = [query, key, value]
        return attentionCore(q, k, v, heads: heads, bias: bias, mask: mask, inputs: inputs)
    }

    struct AttentionOperand {
        let tensor: Tensor
        let columnOffset: Int
        let tokens: Int
        let width: Int
        var rowStride: Int { tensor.shape[2] }
        var batchStride: Int { tokens * rowStride }
    }

    private static func attentionCore(_ q: AttentionOperand, _ k: AttentionOperand, _ v: AttentionOperand, heads: Int,
                                      bias: Tensor?, mask: Tensor?, inputs: [Tensor]) -> Tensor {
        let t = q.tensor
        var allInputs = inputs
        if let bias { allInputs.append(bias) }
        switch t.dtype {
        case .float32: return attentionImpl(q, k, v, heads, bias, mask, allInputs, Float.self)
        case .float64: return attentionImpl(q, k, v, heads, bias, mask, allInputs, Double.self)
        }
    }

    private static func attentionImpl<S: KernelScalar>(_ q: AttentionOperand, _ k: AttentionOperand, _ v: AttentionOperand,
                                                      _ heads: Int, _ bias: Tensor?, _ mask: Tensor?,
                                                      _ inputs: [Tensor], _: S.Type) -> Tensor {
        let b = q.tensor.shape[0], nq = q.tokens, nk = k.tokens, d = q.width, dh = d / heads
        let scale = S(1 / Double(dh).squareRoot())
        if let bias {
            precondition(bias.shape == [heads, nq, nk] || bias.shape == [nq, nk] || bias.shape == [b, heads, nq, nk],
                         "attention bias must be [H, Nq, Nk], [Nq, Nk] or [B, H, Nq, Nk], got \(bias.shape)")
        }
        if let mask {
            precondition(mask.shape == [b, nq, nk] || mask.shape == [nq, nk], "attention mask must be [B, Nq, Nk] or [Nq, Nk], got \(mask.shape)")
            precondition(!mask.requiresGrad, "attention mask is a constant")
        }
        let pairs = b * heads, pSize = nq * nk
        let probs = Storage(uninitializedCount: pairs * pSize, dtype: q.tensor.dtype)
        let out = Storage(uninitializedCount: b * nq * d, dtype: q.tensor.dtype)
        let pq = SendablePointer(q.tensor.storage.ptr(S.self)), pk = SendablePointer(k.tensor.storage.ptr(S.self))
        let pv = SendablePointer(v.tensor.storage.ptr(S.self)), pp = SendablePointer(probs.ptr(S.self))
        let po = SendablePointer(out.ptr(S.self))
        let pbias = bias.map { SendablePointer($0.storage.ptr(S.self)) }
        let biasPerHead = bias?.rank == 3
        let biasPerBatch = bias?.rank == 4
        let pmask = mask.map { SendablePointer($0.storage.ptr(S.self)) }
        let maskPerBatch = mask?.rank == 3

        withSingleThreadedBLAS {
            Parallel.forEachChunk(pairs, costPerItem: 1 << 14) { r in
                for pair in r {
                    let bi = pair / heads, h = pair % heads
                    let qp = pq.pointer + bi * q.batchStride + q.columnOffset + h * dh
                    let kp = pk.pointer + bi * k.batchStride + k.columnOffset + h * dh
                    let vp = pv.pointer + bi * v.batchStride + v.columnOffset + h * dh
                    let p = pp.pointer + pair * pSize
                    S.gemm(transA: false, transB: true, m: nq, n: nk, k: dh, alpha: scale, a: qp, lda: q.rowStride,
                           b: kp, ldb: k.rowStride, beta: 0, c: p, ldc: nk)
                    if let pbias {
                        let bp = pbias.pointer + (biasPerBatch ? pair * pSize : (biasPerHead ? h * pSize : 0))
                        for i in 0..<pSize { p[i] += bp[i] }
                    }
                    if let pmask {
                        let mp = pmask.pointer + (maskPerBatch ? bi * pSize : 0)
                        for i in 0..<pSize { p[i] += mp[i] }
                    }
                    for row in 0..<nq { RowKernels.softmaxRow(p + row * nk, p + row * nk, nk, log: false) }
                    S.gemm(transA: false, transB: false, m: nq, n: dh, k: nk, alpha: 1, a: p, lda: nk,
                           b: vp, ldb: v.rowStride, beta: 0, c: po.pointer + bi * nq * d + h * dh, ldc: d)
                }
            }
        }

        return result([b, nq, d], out, inputs: inputs) { g in
            withExtendedLifetime(probs) {}
            let dtype = q.tensor.dtype
            // Gradient buffers in the operands' own layouts; packed qkv shares one buffer.
            let packed = q.tensor === k.tensor
            let gq = Storage(zeros: q.tensor.count, dtype: dtype)
            let gk = packed ? gq : (k.tensor.requiresGrad ? Storage(zeros: k.tensor.count, dtype: dtype) : nil)
            let gv = packed ? gq : (v.tensor.requiresGrad ? Storage(zeros: v.tensor.count, dtype: dtype) : nil)
            let dS = Storage(uninitializedCount: pairs * pSize, dtype: dtype)
            let pgq = SendablePointer(gq.ptr(S.self)), pgk = gk.map { SendablePointer($0.ptr(S.self)) }
            let pgv = gv.map { SendablePointer($0.ptr(S.self)) }, pds = SendablePointer(dS.ptr(S.self))
            let pg = SendablePointer(g.ptr(S.self))
            withSingleThreadedBLAS {
                Parallel.forEachChunk(pairs, costPerItem: 1 << 14) { r in
                    for pair in r {
                        let bi = pair / heads, h = pair % heads
                        let qp = pq.pointer + bi * q.batchStride + q.columnOffset + h * dh
                        let kp = pk.pointer + bi * k.batchStride + k.columnOffset + h * dh
                        let vp = pv.pointer + bi * v.batchStride + v.columnOffset + h * dh
                        let p = pp.pointer + pair * pSize, ds = pds.pointer + pair * pSize
                        let dout = pg.pointer + bi * nq * d + h * dh
                        if let pgv {
                            S.gemm(transA: true, transB: false, m: nk, n: dh, k: nq, alpha: 1, a: p, lda: nk, b: dout, ldb: d,
                                   beta: 0, c: pgv.pointer + bi * v.batchStride + v.columnOffset + h * dh, ldc: v.rowStride)
                        }
                        S.gemm(transA: false, transB: true, m: nq, n: nk, k: dh, alpha: 1, a: dout, lda: d, b: vp,
                               ldb: v.rowStride, beta: 0, c: ds, ldc: nk)
                        for row in 0..<nq { RowKernels.softmaxBackwardRow(p + row * nk, ds + row * nk, ds + row * nk, nk) }
                        S.gemm(transA: false, transB: false, m: nq, n: dh, k: nk, alpha: scale, a: ds, lda: nk, b: kp,
                               ldb: k.rowStride, beta: 0, c: pgq.pointer + bi * q.batchStride + q.columnOffset + h * dh,
                               ldc: q.rowStride)
                        if let pgk {
                            S.gemm(transA: true, transB: false, m: nk, n: dh, k: nq, alpha: scale, a: ds, lda: nk, b: qp,
                                   ldb: q.rowStride, beta: 0, c: pgk.pointer + bi * k.batchStride + k.columnOffset + h * dh,
                                   ldc: k.rowStride)
                        }
                    }
                }
            }
            q.tensor.accumulate(gq, owned: true)
            if !packed {
                if let gk { k.tensor.accumulate(gk, owned: true) }
                if let gv { v.tensor.accumulate(gv, owned: true) }
            }
            if let bias, bias.requiresGrad {
                // Σ over batches in a fixed order.
                let db = Storage(zeros: bias.count, dtype: dtype)
                let dbp = db.ptr(S.self), dsp = dS.ptr(S.self)
                for pair in 0..<pairs {
                    let h = pair % heads
                    let dst = dbp + (biasPerBatch ? pair * pSize : (biasPerHead ? h * pSize : 0)), src = dsp + pair * pSize
                    for i in 0..<pSize { dst[i] += src[i] }
                }
                bias.accumulate(db, owned: true)
            }
        }
    }
}

/// Runs `body` after making sure OpenBLAS is pinned to one thread (it always is once any
/// GEMM ran; see `BLAS.setThreads`), for code that parallelises many small GEMMs itself.
/// OpenBLAS's thread count is never changed back and forth: doing so while another thread is
/// inside a GEMM is unsafe in OpenBLAS 0.3.21.
@inline(__always)
func withSingleThreadedBLAS(_ body: () -> Void) {
    _ = BLAS.openBLASPinned
    body()
}
