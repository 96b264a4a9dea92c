import TensorCore

/// Something with named trainable tensors. Names are the checkpoint keys (timm's
/// `VisionTransformer` names for the encoder), kept apart from Swift identifiers, and the
/// order of `namedParameters()` is fixed, so optimizer state and digests never depend on
/// hashing.
public protocol Module: AnyObject {
    /// (key, tensor) pairs in a fixed order; keys are relative to this module.
    func namedParameters() -> [(String, Tensor)]
}

extension Module {
    public var parameters: [Tensor] { namedParameters().map(\.1) }

    /// Parameters with keys prefixed by `prefix.`.
    public func namedParameters(prefix: String) -> [(String, Tensor)] {
        namedParameters().map { (prefix.isEmpty ? $0.0 : "\(prefix).\($0.0)", $0.1) }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Freezes or unfreezes every parameter.
    public func setTrainable(_ flag: Bool) { for p in parameters { p.setRequiresGrad(flag) } }

    /// Overwrites parameter values (shapes must match) from another module's or a file's values.
    public func load(_ values: [String: Tensor]) throws {
        for (key, p) in namedParameters() {
            guard let v = values[key] else { throw LayerError.missingParameter(key) }
            guard v.shape == p.shape else { throw LayerError.shapeMismatch(key: key, expected: p.shape, found: v.shape) }
            for i in 0..<p.count { p.storage[i] = v.storage[i] }
        }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

public enum LayerError: Error, CustomStringConvertible, Equatable {
    case missingParameter(String)
    case shapeMismatch(key: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missingParameter(let k): return "parameter '\(k)' is missing"
        case .shapeMismatch(let k, let e, let f): return "parameter '\(k)' has shape \(f), the model expects \(e)"
        }
    }
}

/// How a ViT's Linear layers draw their weights (biases start at zero either way).
public enum WeightInitialization: String, Codable, Sendable {
    /// Xavier-uniform: MAE's `initialize_weights` (and the suite's default).
    case xavier
    /// Normal(0, 0.02) truncated: timm's and DINO's `_init_weights`.
    case truncatedNormal = "trunc_normal"
}

/// Parameter initialisers, all drawing from the caller's stream in a fixed order.
public enum Initializer {
    /// Xavier/Glorot uniform for a [fanOut, fanIn] weight (MAE's choice for every Linear).
    public static func xavierUniform(_ shape: [Int], fanIn: Int, fanOut: Int, dtype: DType, rng: inout RandomStream) -> Tensor {
        uniform(shape, bound: (6.0 / Double(fanIn + fanOut)).squareRoot(), dtype: dtype, rng: &rng)
    }

    /// U(±bound), element by element in row-major order (PyTorch's default Linear/Conv2d
    /// weight and bias use bound 1/√fan_in).
    public static func uniform(_ shape: [Int], bound: Double, dtype: DType, rng: inout RandomStream) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor((0..<n).map { _ in rng.uniform(-bound, bound) }, shape: shape, dtype: dtype, requiresGrad: true)
    }

    /// Normal(0, std) truncated to ±2 (timm's `trunc_normal_`, by rejection).
    public static func truncatedNormal(_ shape: [Int], std: Double, dtype: DType, rng: inout RandomStream) -> Tensor {
        let n = shape.reduce(1, *)
        var v = [Double]()
        v.reserveCapacity(n)
        while v.count < n {
            let z = rng.nextNormal() * std
            if abs(z) <= 2 { v.append(z) }
        }
        return Tensor(v, shape: shape, dtype: dtype, requiresGrad: true)
    }

    public static func constant(_ value: Double, _ shape: [Int], dtype: DType, trainable: Bool = true) -> Tensor {
        let t = Tensor.full(value, shape, dtype: dtype)
        t.setRequiresGrad(trainable)
        return t
    }
}
