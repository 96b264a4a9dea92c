import Foundation
import TensorCore

/// The per-token map of a dense head, from standardised tokens x [N, D] to outputs z [N, K]
/// (`--head`), with its hand-written backward.
///
/// - `linear`: z = x W + b; W [D, K], b [K]; all zero at the start (the linear probes' init).
/// - `mlp(hidden: H)`: z = ReLU(x W₁ + b₁) W₂ + b₂, two 1×1 convolutions on the token grid,
///   SETR-Naive's decode head (1×1 conv to 256 channels, BatchNorm + ReLU, 1×1 conv to the
///   classes) without its BatchNorm: the tokens are already standardised. (GELU was tried
///   first: an erf per hidden unit made the head take 131 s on the default scenes, against the
///   linear head's 14 s.) Init: W₁ drawn
///   U(−1/√D, 1/√D) (PyTorch's default for a 1×1 conv) from the head's stream, b₁ = 0; W₂ = 0
///   and b₂ = 0, so the head starts at the linear head's uniform prediction and W₁ gets
///   gradient from the first update of W₂ on.
/// Parameter groups in order: [W, b] or [W₁, b₁, W₂, b₂]; weight decay on the weights only.
public enum TokenHead: Sendable, Equatable, CustomStringConvertible {
    case linear
    case mlp(hidden: Int)

    /// SETR-Naive's channel count.
    public static let defaultHidden = 256

    /// Parses `linear` or `mlp` (hidden 256).
    public init(parsing text: String) throws {
        switch text {
        case "linear": self = .linear
        case "mlp": self = .mlp(hidden: Self.defaultHidden)
        default: throw EvaluationError.invalidInput("head '\(text)': expected linear or mlp")
        }
    }

    public var description: String {
        switch self {
        case .linear: return "linear"
        case .mlp: return "mlp"
        }
    }

    /// Element counts of the parameter groups.
    public func parameterShapes(dimension d: Int, outputs k: Int) -> [Int] {
        switch self {
        case .linear: return [d * k, k]
        case .mlp(let h): return [d * h, h, h * k, k]
        }
    }

    /// Which groups get weight decay (the weights, not the biases).
    public var decays: [Bool] {
        switch self {
        case .linear: return [true, false]
        case .mlp: return [true, false, true, false]
        }
    }

    /// The starting parameters (see the type's comment); draws from `rng` only for the MLP.
    public func initialParameters(dimension d: Int, outputs k: Int, rng: inout RandomStream) -> [[Float]] {
        var groups = parameterShapes(dimension: d, outputs: k).map { [Float](repeating: 0, count: $0) }
        if case .mlp = self {
            let bound = 1 / Double(d).squareRoot()
            for i in groups[0].indices { groups[0][i] = Float(rng.uniform(-bound, bound)) }
        }
        return groups
    }

    /// z [rows, K] for x [rows, D].
    public func forward<T: HeadScalar>(_ x: [T], rows: Int, dimension: Int, parameters: [[T]]) -> [T] {
        switch self {
        case .linear:
            return DenseLayer.forward(x, rows: rows, dimension: dimension, weights: parameters[0], bias: parameters[1])
        case .mlp(let h):
            let hidden = DenseLayer.forward(x, rows: rows, dimension: dimension, weights: parameters[0], bias: parameters[1])
            return DenseLayer.forward(hidden.map(Self.relu), rows: rows, dimension: h, weights: parameters[2],
                                      bias: parameters[3])
        }
    }

    /// Runs the head on x [rows, D], lets `outputLoss(z)` return the loss and ∂L/∂z [rows, K],
    /// and adds ∂L/∂θ into `gradients` (one array per group, same shapes as `parameters`).
    public func lossAndGradient<T: HeadScalar>(_ x: [T], rows: Int, dimension: Int, parameters: [[T]],
                                               gradients: inout [[T]], outputLoss: ([T]) -> (T, [T])) -> T {
        switch self {
        case .linear:
            let z = DenseLayer.forward(x, rows: rows, dimension: dimension, weights: parameters[0], bias: parameters[1])
            let (value, outputGradient) = outputLoss(z)
            Self.denseBackward(x, rows: rows, dimension: dimension, outputGradient: outputGradient,
                               gradients: &gradients, weightGroup: 0)
            return value
        case .mlp(let h):
            let preactivation = DenseLayer.forward(x, rows: rows, dimension: dimension, weights: parameters[0],
                                                   bias: parameters[1])
            let activation = preactivation.map(Self.relu)
            let z = DenseLayer.forward(activation, rows: rows, dimension: h, weights: parameters[2], bias: parameters[3])
            let (value, outputGradient) = outputLoss(z)
            Self.denseBackward(activation, rows: rows, dimension: h, outputGradient: outputGradient,
                               gradients: &gradients, weightGroup: 2)
            var hiddenGradient = DenseLayer.inputGradient(outputGradient, rows: rows, dimension: h, weights: parameters[2])
            // ReLU′: 1 where the unit was active (a > 0), else 0.
            for i in hiddenGradient.indices where !(preactivation[i] > 0) { hiddenGradient[i] = 0 }
            Self.denseBackward(x, rows: rows, dimension: dimension, outputGradient: hiddenGradient,
                               gradients: &gradients, weightGroup: 0)
            return value
        }
    }

    /// DenseLayer.backward into groups `weightGroup` (W) and `weightGroup + 1` (b), moved out and
    /// back so the two arrays are not borrowed from `gradients` at once.
    private static func denseBackward<T: HeadScalar>(_ x: [T], rows: Int, dimension: Int, outputGradient: [T],
                                                     gradients: inout [[T]], weightGroup: Int) {
        var weights: [T] = [], bias: [T] = []
        swap(&weights, &gradients[weightGroup])
        swap(&bias, &gradients[weightGroup + 1])
        DenseLayer.backward(x, rows: rows, dimension: dimension, outputGradient: outputGradient,
                            weightGradient: &weights, biasGradient: &bias)
        swap(&weights, &gradients[weightGroup])
        swap(&bias, &gradients[weightGroup + 1])
    }

    static func relu<T: HeadScalar>(_ a: T) -> T { a > 0 ? a : 0 }
}
