import TensorCore

/// Central-difference gradient check in Double.
///
/// `f` maps the inputs to a tensor; a fixed pseudo-random projection R (from `seed`) turns
/// it into the scalar L = Σ f(x)·R, so every output element contributes. For each input
/// element, the analytic ∂L/∂x from `backward()` is compared with
/// (L(x + ε) − L(x − ε)) / 2ε. The reported error of an element is
///   |analytic − numeric| / max(1, |analytic|, |numeric|),
/// relative for gradients above 1 and absolute below. With ε = 1e-6 in Double the numeric
/// estimate is good to ~1e-9, so the default tolerance 1e-6 leaves a wide margin.
public struct GradCheckReport: CustomStringConvertible {
    public var maxError: Double
    public var worstInput: Int
    public var worstIndex: Int
    public var checked: Int
    public var description: String {
        "max error \(maxError) (input \(worstInput), element \(worstIndex)) over \(checked) elements"
    }
}

public func gradCheck(_ inputs: [Tensor], eps: Double = 1e-6, seed: UInt64 = 7,
                      _ f: ([Tensor]) -> Tensor) -> GradCheckReport {
    for t in inputs { precondition(t.dtype == .float64, "gradCheck needs float64 inputs") }
    let probe = f(inputs)
    var rng = RandomStream(seed: seed)
    let projection = Tensor((0..<probe.count).map { _ in rng.nextNormal() }, shape: probe.shape, dtype: .float64)
    func loss() -> Tensor { (f(inputs) * projection).sum() }
    for t in inputs { t.zeroGrad() }
    loss().backward()
    let analytic = inputs.map { $0.grad.map { g in (0..<g.count).map { g[$0] } } ?? [Double](repeating: 0, count: $0.count) }
    var report = GradCheckReport(maxError: 0, worstInput: -1, worstIndex: -1, checked: 0)
    Tensor.withoutGrad {
        for (ti, t) in inputs.enumerated() where t.requiresGrad {
            for i in 0..<t.count {
                let x0 = t.storage[i]
                t.storage[i] = x0 + eps
                let up = loss().item
                t.storage[i] = x0 - eps
                let down = loss().item
                t.storage[i] = x0
                let numeric = (up - down) / (2 * eps)
                let a = analytic[ti][i]
                let err = abs(a - numeric) / max(1, abs(a), abs(numeric))
                report.checked += 1
                if err > report.maxError { report = GradCheckReport(maxError: err, worstInput: ti, worstIndex: i, checked: report.checked) }
            }
        }
    }
    return report
}

/// A float64 leaf of normal values (scaled), for gradient checks.
public func randomTensor(_ shape: [Int], seed: UInt64, scale: Double = 1, dtype: DType = .float64,
                         requiresGrad: Bool = true) -> Tensor {
    var rng = RandomStream(seed: seed)
    let n = shape.reduce(1, *)
    return Tensor((0..<n).map { _ in rng.nextNormal() * scale }, shape: shape, dtype: dtype, requiresGrad: requiresGrad)
}

/// Largest absolute and relative difference of two equally long value lists.
public func maxDifference(_ a: [Double], _ b: [Double]) -> (absolute: Double, relative: Double) {
    precondition(a.count == b.count, "maxDifference: \(a.count) vs \(b.count) values")
    var abso = 0.0, rel = 0.0
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        abso = max(abso, d)
        rel = max(rel, d / max(abs(b[i]), 1e-6))
    }
    return (abso, rel)
}
