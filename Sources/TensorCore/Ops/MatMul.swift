/// Matrix products through `cblas_sgemm`/`cblas_dgemm`.
extension Tensor {
    /// Affine map y = x·Wᵀ + b over the last axis: x [..., K], weight [N, K], bias [N] → [..., N].
    /// Weight gradients are accumulated by GEMM with β = 1 straight into the gradient buffer.
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        let k = shape.last ?? 0
        precondition(weight.rank == 2 && weight.shape[1] == k, "linear: x \(shape) vs weight \(weight.shape) (expects [N, \(k)])")
        if let bias { precondition(bias.shape == [weight.shape[0]], "linear: bias \(bias.shape) vs weight \(weight.shape)") }
        switch dtype {
        case .float32: return linearImpl(weight, bias, Float.self)
        case .float64: return linearImpl(weight, bias, Double.self)
        }
    }

    private func linearImpl<S: KernelScalar>(_ weight: Tensor, _ bias: Tensor?, _: S.Type) -> Tensor {
        let k = shape.last!, n = weight.shape[0], m = count / max(k, 1)
        var outShape = shape
        outShape[rank - 1] = n
        let out = Storage(uninitializedCount: m * n, dtype: dtype)
        let x = storage.ptr(S.self), w = weight.storage.ptr(S.self), y = out.ptr(S.self)
        if let bias {
            S.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: x, lda: k, b: w, ldb: k,
                   rowInit: bias.storage.ptr(S.self), c: y, ldc: n)
        } else {
            S.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: x, lda: k, b: w, ldb: k,
                   beta: 0, c: y, ldc: n)
        }
        var inputs = [self, weight]
        if let bias { inputs.append(bias) }
        return Tensor.result(outShape, out, inputs: inputs) { [self] g in
            let dy = g.ptr(S.self)
            if requiresGrad {
                let dx = Storage(uninitializedCount: count, dtype: dtype)
                S.gemm(transA: false, transB: false, m: m, n: k, k: n, alpha: 1, a: dy, lda: n, b: w, ldb: k,
                       beta: 0, c: dx.ptr(S.self), ldc: k)
                accumulate(dx, owned: true)
            }
            if weight.requiresGrad {
                let dw = weight.gradBuffer()
                S.gemm(transA: true, transB: false, m: n, n: k, k: m, alpha: 1, a: dy, lda: n, b: x, ldb: k,
                       beta: 1, c: dw.ptr(S.self), ldc: k)
            }
            if let bias, bias.requiresGrad {
                let db = bias.gradBuffer().ptr(S.self)
                let colSums = UnsafeMutablePointer<S>.allocate(capacity: n)
                defer { colSums.deallocate() }
                colSums.update(repeating: 0, count: n)
                for i in 0..<m { let r = dy + i * n; for j in 0..<n { colSums[j] += r[j] } }
                for j in 0..<n { db[j] += colSums[j] }
            }
        }
    }

    /// Batched matrix product: a [..., M, K] · b [..., K, N] → [..., M, N] (op(·) transposes
    /// the last two axes when the flag is set). `b` may be rank 2 and is then shared by every batch.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2 && a.dtype == b.dtype, "matmul needs rank ≥ 2 tensors of one dtype")
        switch a.dtype {
        case .float32: return matmulImpl(a, b, transposeA, transposeB, Float.self)
        case .float64: return matmulImpl(a, b, transposeA, transposeB, Double.self)
        }
    }

    private static func matmulImpl<S: KernelScalar>(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool, _: S.Type) -> Tensor {
        let ar = a.shape[a.rank - 2], ac = a.shape[a.rank - 1]
        let br = b.shape[b.rank - 2], bc = b.shape[b.rank - 1]
        let (m, k) = ta ? (ac, ar) : (ar, ac)
        let (k2, n) = tb ? (bc, br) : (br, bc)
        precondition(k == k2, "matmul: inner dimensions differ: \(a.shape)\(ta ? "ᵀ" : "") · \(b.shape)\(tb ? "ᵀ" : "")")
        let batchShape = Array(a.shape.dropLast(2))
        let shared = b.rank == 2
        precondition(shared || Array(b.shape.dropLast(2)) == batchShape, "matmul: batch shapes \(a.shape) vs \(b.shape)")
        let batch = batchShape.reduce(1, *)
        let outShape = batchShape + [m, n]
        let out = Storage(uninitializedCount: batch * m * n, dtype: a.dtype)
        let pa = a.storage.ptr(S.self), pb = b.storage.ptr(S.self), po = out.ptr(S.self)
        let aSize = ar * ac, bSize = shared ? 0 : br * bc
        for i in 0..<batch {
            S.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1, a: pa + i * aSize, lda: ac,
                   b: pb + i * bSize, ldb: bc, beta: 0, c: po + i * m * n, ldc: n)
        }
        return result(outShape, out, inputs: [a, b]) { g in
            let dy = g.ptr(S.self)
            if a.requiresGrad {
                // dA = dY·op(B)ᵀ, laid out as A (transposed back when A was used transposed).
                let da = Storage(uninitializedCount: a.count, dtype: a.dtype)
                let d = da.ptr(S.self)
                for i in 0..<batch {
                    if ta {
                        S.gemm(transA: tb, transB: true, m: k, n: m, k: n, alpha: 1, a: pb + i * bSize, lda: bc,
                               b: dy + i * m * n, ldb: n, beta: 0, c: d + i * aSize, ldc: ac)
                    } else {
                        S.gemm(transA: false, transB: !tb, m: m, n: k, k: n, alpha: 1, a: dy + i * m * n, lda: n,
                               b: pb + i * bSize, ldb: bc, beta: 0, c: d + i * aSize, ldc: ac)
                    }
                }
                a.accumulate(da, owned: true)
            }
            if b.requiresGrad {
                // dB = op(A)ᵀ·dY, summed over batches when B is shared.
                let db = Storage(zeros: b.count, dtype: b.dtype)
                let d = db.ptr(S.self)
                for i in 0..<batch {
                    if tb {
                        S.gemm(transA: true, transB: ta, m: n, n: k, k: m, alpha: 1, a: dy + i * m * n, lda: n,
                               b: pa + i * aSize, ldb: ac, beta: shared ? 1 : 0, c: d + i * bSize, ldc: bc)
                    } else {
                        S.gemm(transA: !ta, transB: false, m: k, n: n, k: m, alpha: 1, a: pa + i * aSize, lda: ac,
                               b: dy + i * m * n, ldb: n, beta: shared ? 1 : 0, c: d + i * bSize, ldc: bc)
                    }
                }
                b.accumulate(db, owned: true)
            }
        }
    }
}
