import TensorCore

/// y = x·Wᵀ + b. weight [out, in] (PyTorch layout), bias [out]; the weight drawn by
/// `initialization` (Xavier-uniform by default), zero bias.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inputs: Int, _ outputs: Int, bias: Bool = true, initialization: WeightInitialization = .xavier,
                dtype: DType = .float32, rng: inout RandomStream) {
        switch initialization {
        case .xavier:
            weight = Initializer.xavierUniform([outputs, inputs], fanIn: inputs, fanOut: outputs, dtype: dtype, rng: &rng)
        case .truncatedNormal:
            weight = Initializer.truncatedNormal([outputs, inputs], std: 0.02, dtype: dtype, rng: &rng)
        }
        self.bias = bias ? Initializer.constant(0, [outputs], dtype: dtype) : nil
    }

    /// A layer with given tensors (weight [out, in], bias [out]), for heads whose authors
    /// initialise differently (DINO's truncated normal).
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2 && (bias == nil || bias!.shape == [weight.shape[0]]),
                     "Linear: weight [out, in] \(weight.shape), bias [out] \(bias?.shape ?? [])")
        self.weight = weight
        self.bias = bias
    }

    /// PyTorch's default `nn.Linear` / `nn.Conv2d` initialisation (kaiming_uniform with a = √5):
    /// weight and bias both U(±1/√in), the weight drawn first.
    public static func torchDefault(_ inputs: Int, _ outputs: Int, dtype: DType = .float32,
                                    rng: inout RandomStream) -> Linear {
        let bound = 1 / Double(inputs).squareRoot()
        let weight = Initializer.uniform([outputs, inputs], bound: bound, dtype: dtype, rng: &rng)
        return Linear(weight: weight, bias: Initializer.uniform([outputs], bound: bound, dtype: dtype, rng: &rng))
    }

    /// x [..., in] → [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }

    public func namedParameters() -> [(String, Tensor)] {
        var p = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }
}

/// Layer normalisation over the last axis with affine γ (ones) and β (zeros).
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Double

    public init(_ dimension: Int, eps: Double = 1e-6, dtype: DType = .float32) {
        weight = Initializer.constant(1, [dimension], dtype: dtype)
        bias = Initializer.constant(0, [dimension], dtype: dtype)
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
    public func namedParameters() -> [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
}

/// Two-layer MLP fc1 → GELU (exact) → fc2, as in ViT blocks.
public final class MLP: Module {
    public let fc1: Linear
    public let fc2: Linear

    public init(_ dimension: Int, hidden: Int, output: Int? = nil, initialization: WeightInitialization = .xavier,
                dtype: DType = .float32, rng: inout RandomStream) {
        fc1 = Linear(dimension, hidden, initialization: initialization, dtype: dtype, rng: &rng)
        fc2 = Linear(hidden, output ?? dimension, initialization: initialization, dtype: dtype, rng: &rng)
    }

    /// From given layers (heads that initialise their own way).
    public init(fc1: Linear, fc2: Linear) {
        self.fc1 = fc1
        self.fc2 = fc2
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).gelu()) }
    public func namedParameters() -> [(String, Tensor)] { fc1.namedParameters(prefix: "fc1") + fc2.namedParameters(prefix: "fc2") }
}
