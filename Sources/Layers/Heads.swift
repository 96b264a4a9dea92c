import Foundation
import TensorCore

/// A stack of Linear layers with GELU between them (projection / prediction heads).
public final class MLPHead: Module {
    public let layers: [Linear]

    /// widths: [in, hidden…, out]
    public init(widths: [Int], dtype: DType = .float32, rng: inout RandomStream) {
        precondition(widths.count >= 2, "an MLP head needs at least input and output widths")
        layers = (0..<(widths.count - 1)).map { Linear(widths[$0], widths[$0 + 1], dtype: dtype, rng: &rng) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (i, l) in layers.enumerated() {
            h = l(h)
            if i < layers.count - 1 { h = h.gelu() }
        }
        return h
    }

    public func namedParameters() -> [(String, Tensor)] {
        layers.enumerated().flatMap { $0.element.namedParameters(prefix: "mlp.\($0.offset)") }
    }
}

/// Weight-normalised linear layer without bias, W = g · V/‖V‖ per output row
/// (torch.nn.utils.weight_norm). DINO fixes g = 1 (`norm_last_layer`), then only V trains.
public final class WeightNormLinear: Module {
    public let direction: Tensor   // V [out, in]
    public let gain: Tensor?       // g [out, 1], nil when fixed to 1

    public init(_ inputs: Int, _ outputs: Int, fixedGain: Bool = true, dtype: DType = .float32, rng: inout RandomStream) {
        direction = Initializer.truncatedNormal([outputs, inputs], std: 0.02, dtype: dtype, rng: &rng)
        gain = fixedGain ? nil : Initializer.constant(1, [outputs, 1], dtype: dtype)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var w = direction.l2Normalized()
        if let gain { w = w * gain }
        return x.linear(weight: w, bias: nil)
    }

    public func namedParameters() -> [(String, Tensor)] {
        var p = [("weight_v", direction)]
        if let gain { p.append(("weight_g", gain)) }
        return p
    }
}

/// Exponential moving average of parameters (EMA teachers, momentum encoders):
/// θ_teacher ← m·θ_teacher + (1 − m)·θ_student. The new teacher values are returned, so the
/// caller decides when the teacher changes; `apply` writes them into a module.
public enum EMA {
    public static func updated(teacher: [Tensor], student: [Tensor], momentum m: Double) -> [Tensor] {
        precondition(teacher.count == student.count, "EMA: \(teacher.count) teacher vs \(student.count) student tensors")
        return Tensor.withoutGrad {
            zip(teacher, student).map { t, s in
                precondition(t.shape == s.shape, "EMA: shapes \(t.shape) vs \(s.shape)")
                return (t.detached() * m + s.detached() * (1 - m)).detached()
            }
        }
    }

    /// Copies `values` into the teacher module's parameters, in `namedParameters()` order.
    public static func apply(_ values: [Tensor], to teacher: Module) {
        for (p, v) in zip(teacher.parameters, values) {
            precondition(p.count == v.count && p.dtype == v.dtype)
            memcpy(p.storage.raw, v.storage.raw, p.count * p.dtype.byteSize)
        }
    }
}
