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

    /// A layer with gain fixed to 1 and the given direction V [out, in].
    public init(direction: Tensor) {
        self.direction = direction
        gain = nil
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

/// DINO's projection head (facebookresearch/dino vision_transformer.py `DINOHead`, use_bn off):
/// Linear(D, h)–GELU–Linear(h, h)–GELU–Linear(h, b), L2-normalised, then a weight-normalised
/// Linear(b, K) without bias whose gain is fixed to 1 (`norm_last_layer`). Keys follow the
/// official state dict: mlp.0, mlp.2, mlp.4, last_layer.weight_v.
public final class DINOHead: Module {
    public let layers: [Linear]
    public let lastLayer: WeightNormLinear

    /// Weights N(0, 0.02) truncated and zero biases (the official `_init_weights`); the last
    /// layer's V is drawn as PyTorch's default Linear init, U(±1/√b), because the official code
    /// creates it after applying `_init_weights`.
    public init(inputs: Int, hidden: Int, bottleneck: Int, outputs: Int, dtype: DType = .float32,
                rng: inout RandomStream) {
        layers = [(inputs, hidden), (hidden, hidden), (hidden, bottleneck)].map { fanIn, fanOut in
            Linear(weight: Initializer.truncatedNormal([fanOut, fanIn], std: 0.02, dtype: dtype, rng: &rng),
                   bias: Initializer.constant(0, [fanOut], dtype: dtype))
        }
        let v = Initializer.uniform([outputs, bottleneck], bound: 1 / Double(bottleneck).squareRoot(), dtype: dtype, rng: &rng)
        lastLayer = WeightNormLinear(direction: v)
    }

    /// x [N, D] → logits [N, K].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            if i < layers.count - 1 { h = h.gelu() }
        }
        return lastLayer(h.l2Normalized())
    }

    public func namedParameters() -> [(String, Tensor)] {
        layers.enumerated().flatMap { $0.element.namedParameters(prefix: "mlp.\(2 * $0.offset)") }
            + lastLayer.namedParameters(prefix: "last_layer")
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

/// MoCo-v2's and DenseCL's projection: Linear → ReLU → Linear (keys `0.*`, `2.*`, as the
/// authors' `nn.Sequential`). On tokens [..., in] it is DenseCL's 1×1-conv dense head, which a
/// ViT applies per token (spec selfpatch-densecl.md §5 c).
public final class ReLUProjection: Module {
    /// How the authors initialise it.
    public enum Initialisation: Sendable {
        /// mmcv `kaiming_init(mode='fan_in', nonlinearity='relu')`: N(0, 2/fan_in), bias 0 (the
        /// necks' `init_weights(init_linear='kaiming')` for every nn.Linear).
        case kaimingNormal
        /// PyTorch's default for nn.Linear / nn.Conv2d: weight and bias U(±1/√fan_in) (DenseCL's
        /// 1×1 convs, which `init_weights` leaves alone).
        case torchDefault
    }

    public let first: Linear
    public let second: Linear

    public init(inputs: Int, hidden: Int, outputs: Int, initialisation: Initialisation, dtype: DType = .float32,
                rng: inout RandomStream) {
        func layer(_ fanIn: Int, _ fanOut: Int) -> Linear {
            let n = fanIn * fanOut
            switch initialisation {
            case .kaimingNormal:
                let std = (2.0 / Double(fanIn)).squareRoot()
                return Linear(weight: Tensor((0..<n).map { _ in rng.nextNormal() * std }, shape: [fanOut, fanIn], dtype: dtype,
                                             requiresGrad: true),
                              bias: Initializer.constant(0, [fanOut], dtype: dtype))
            case .torchDefault:
                return Linear.torchDefault(fanIn, fanOut, dtype: dtype, rng: &rng)
            }
        }
        first = layer(inputs, hidden)
        second = layer(hidden, outputs)
    }

    /// x [..., in] → [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor { second(first(x).relu()) }

    public func namedParameters() -> [(String, Tensor)] { first.namedParameters(prefix: "0") + second.namedParameters(prefix: "2") }
}
