/// Vectorised float32 exp, erf and tanh on `SIMD16<Float>`.
///
/// libm's `expf`/`erff`/`tanhf` are scalar calls and dominate GELU and softmax time (14–18×
/// slower, ../shared/docs/swift-stack.md §4). These are plain polynomial approximations,
/// written without `.clamped()`/`pointwiseMin` (slow in Swift 6.3) and without FMA
/// contraction, so they give the same bits on every x86-64 CPU and build.
/// Accuracy (checked in FastMathTests against libm over a dense grid):
///   exp: relative error < 3e-7 on [-87, 88], exactly 0 below ln(FLT_MIN) ≈ −87.34; erf: absolute error < 1e-6 (5.3e-7 measured); tanh: < 3e-7.
public enum FastMath {
    public typealias V = SIMD16<Float>

    @inline(__always)
    public static func exp(_ x: V) -> V {
        // Below ln(FLT_MIN) the result is 0, not the smallest normal: a masked score (−∞) or a
        // far-below-max logit must give an exact 0 probability. The clamped value would give
        // FLT_MIN, which softmax's 1/Σ turns into a subnormal, and subnormal operands make every
        // later multiply take a microcode assist on Intel cores (RandSAC's block-causal attention
        // ran 5× slower on a Sapphire Rapids).
        let underflows = x .< -87.3365447505531
        var x = x
        x.replace(with: 88.3762626647949, where: x .> 88.3762626647949)
        x.replace(with: -87.3365447505531, where: underflows)
        // x = k·ln2 + r, |r| ≤ ln2/2; ln2 split in two parts so k·ln2_hi is exact. k is
        // rounded by adding 1.5·2²³ (the float's low mantissa bits then hold k), which keeps
        // the whole computation in vector registers (SIMD Float→Int conversion is scalar).
        let shifted: V = x * 1.44269504088896341 + 12_582_912.0
        let k: V = shifted - 12_582_912.0
        let hi: V = k * 0.693359375
        let lo: V = k * 2.12194440e-4
        let r: V = x - hi + lo
        // e^r by its Taylor polynomial to degree 7 (Horner).
        var p: V = V(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // 2^k through the exponent bits.
        let ki = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((ki &+ 127) &<< 23, to: V.self)
        var y = p * scale
        y.replace(with: 0, where: underflows)
        return y
    }

    /// erf by Abramowitz & Stegun 7.1.26 refined: erf(x) = 1 − t·P(t)·e^{−x²}, t = 1/(1+p|x|),
    /// with the sign restored (absolute error ≤ 1.5e-7 in exact arithmetic).
    @inline(__always)
    public static func erf(_ x: V) -> V {
        let sign = V(repeating: 1).replacing(with: -1, where: x .< 0)
        let a = x * sign
        let t = 1 / (1 + 0.3275911 * a)
        var p: V = V(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let e: V = exp(-(a * a))
        let y: V = 1 - p * t * e
        return sign * y
    }

    /// tanh(x) = sign(x)·(1 − 2/(e^{2|x|} + 1)); a Taylor series near 0 keeps relative accuracy.
    @inline(__always)
    public static func tanh(_ x: V) -> V {
        let sign = V(repeating: 1).replacing(with: -1, where: x .< 0)
        var a = x * sign
        a.replace(with: 9, where: a .> 9)
        let e2: V = exp(a + a)
        let big: V = 1 - 2 / (e2 + 1)
        let a2 = a * a
        // tanh a ≈ a − a³/3 + 2a⁵/15 − 17a⁷/315 for |a| < 0.125
        var poly: V = a2 * V(repeating: -17.0 / 315)
        poly = (poly + 2.0 / 15) * a2
        poly = (poly - 1.0 / 3) * a2
        let small = a * (poly + 1)
        return sign * big.replacing(with: small, where: a .< 0.125)
    }

    @inline(__always)
    static func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V) -> V) {
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: f(v), as: V.self)
            i += 16
        }
        if i < n {
            var v = V(repeating: 0)
            for j in 0..<(n - i) { v[j] = x[i + j] }
            let r = f(v)
            for j in 0..<(n - i) { y[i + j] = r[j] }
        }
    }

    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { apply(x, y, n, exp) }
    public static func erf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { apply(x, y, n, erf) }
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { apply(x, y, n, tanh) }
}
