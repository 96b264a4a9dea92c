import Foundation

/// The element types kernels are written for. Kernels are generic over it and called from
/// `switch dtype` sites inside this module, so the optimiser specialises each one for
/// `Float` and `Double`; no per-element work goes through a witness table.
///
/// The transcendental vector functions differ by type: `Float` uses SIMD polynomial
/// approximations (speed), `Double` uses libm (exactness for gradient checks).
public protocol KernelScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// y[i] = exp(x[i]).
    static func vexp(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    /// y[i] = erf(x[i]).
    static func verf(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    /// y[i] = tanh(x[i]).
    static func vtanh(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func scalarExp(_ x: Self) -> Self
    static func scalarLog(_ x: Self) -> Self
    static func scalarErf(_ x: Self) -> Self
    static func scalarTanh(_ x: Self) -> Self
}

extension Double: KernelScalar {
    public static func vexp(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { y[i] = Foundation.exp(x[i]) }
    }
    public static func verf(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { y[i] = Foundation.erf(x[i]) }
    }
    public static func vtanh(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { y[i] = Foundation.tanh(x[i]) }
    }
    @inline(__always) public static func scalarExp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) public static func scalarLog(_ x: Double) -> Double { Foundation.log(x) }
    @inline(__always) public static func scalarErf(_ x: Double) -> Double { Foundation.erf(x) }
    @inline(__always) public static func scalarTanh(_ x: Double) -> Double { Foundation.tanh(x) }
}

extension Float: KernelScalar {
    public static func vexp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        FastMath.exp(x, y, n)
    }
    public static func verf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        FastMath.erf(x, y, n)
    }
    public static func vtanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        FastMath.tanh(x, y, n)
    }
    @inline(__always) public static func scalarExp(_ x: Float) -> Float { Foundation.expf(x) }
    @inline(__always) public static func scalarLog(_ x: Float) -> Float { Foundation.logf(x) }
    @inline(__always) public static func scalarErf(_ x: Float) -> Float { Foundation.erff(x) }
    @inline(__always) public static func scalarTanh(_ x: Float) -> Float { Foundation.tanhf(x) }
}
