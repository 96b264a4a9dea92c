/// Generic building-block kernels shared by several ops. Each runs in a fixed order over
/// contiguous chunks (see `Parallel`), so results never depend on scheduling.
enum Kernels {
    /// a += b (gradient accumulation).
    static func addInPlace(_ a: Storage, _ b: Storage) {
        precondition(a.count == b.count && a.dtype == b.dtype)
        switch a.dtype {
        case .float32: addInPlace(a.f32, b.f32, a.count)
        case .float64: addInPlace(a.f64, b.f64, a.count)
        }
    }

    static func addInPlace<S: KernelScalar>(_ a: UnsafeMutablePointer<S>, _ b: UnsafePointer<S>, _ n: Int) {
        let pa = SendablePointer(a), pb = SendablePointer(UnsafeMutablePointer(mutating: b))
        Parallel.forEachChunk(n) { r in
            let a = pa.pointer, b = pb.pointer
            for i in r { a[i] += b[i] }
        }
    }

    /// Sums `g` (laid out as `shape`) down to `target` (broadcast-compatible) — the pullback
    /// of broadcasting. Output is freshly allocated.
    static func reduceToShape<S: KernelScalar>(_ g: UnsafePointer<S>, shape: [Int], target: [Int], _: S.Type) -> Storage {
        let shape = shape.isEmpty ? [1] : shape
        let out = Storage(zeros: ShapeMath.count(target), dtype: S.self == Float.self ? .float32 : .float64)
        let o = out.ptr(S.self)
        let n = ShapeMath.count(shape)
        if shape == target {
            o.update(from: g, count: n)
            return out
        }
        let ts = ShapeMath.broadcastStrides(target, to: shape)
        let inner = shape[shape.count - 1], innerStride = ts[shape.count - 1]
        ShapeMath.forEachRow(shape, strides: ts) { row, off in
            let src = g + row * inner
            if innerStride == 0 {
                var s: S = 0
                for j in 0..<inner { s += src[j] }
                o[off] += s
            } else {
                for j in 0..<inner { o[off + j] += src[j] }
            }
        }
        return out
    }

    /// Writes `src` (laid out as `shape`, broadcast to `target`) into a contiguous buffer.
    static func broadcastCopy<S: KernelScalar>(_ src: UnsafePointer<S>, shape: [Int], target: [Int],
                                               into o: UnsafeMutablePointer<S>) {
        let n = ShapeMath.count(target)
        if shape == target { o.update(from: src, count: n); return }
        let target = target.isEmpty ? [1] : target
        let ss = ShapeMath.broadcastStrides(shape, to: target)
        let inner = target[target.count - 1], innerStride = ss[target.count - 1]
        ShapeMath.forEachRow(target, strides: ss) { row, off in
            let dst = o + row * inner
            if innerStride == 0 { dst.update(repeating: src[off], count: inner) }
            else { dst.update(from: src + off, count: inner) }
        }
    }
}
