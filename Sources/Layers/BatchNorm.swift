import TensorCore

/// BatchNorm1d over [M, C] (torch.nn.BatchNorm1d, affine, track_running_stats):
///   training:   y = (x − μ_B) / √(σ²_B + ε) · γ + β, with μ_B, σ²_B the batch mean and the
///               biased batch variance per channel; the running statistics move as torch's,
///               r_μ ← (1 − m)·r_μ + m·μ_B and r_σ² ← (1 − m)·r_σ² + m·σ²_B·M/(M − 1)
///               (the unbiased variance), m the momentum (0.1);
///   evaluation: y = (x − r_μ) / √(r_σ² + ε) · γ + β.
/// γ starts at 1, β at 0, r_μ at 0, r_σ² at 1. The running statistics are not parameters:
/// the layer never holds them; a caller passes them in and gets the next ones back (an
/// objective keeps them in its state, so they are checkpointed and a resumed run continues them).
public final class BatchNorm1d: Module {
    public let weight: Tensor   // γ [C]
    public let bias: Tensor     // β [C]
    public let eps: Double
    public let momentum: Double

    /// Running mean and variance, each [C].
    public struct Statistics {
        public var mean: Tensor
        public var variance: Tensor
        public init(mean: Tensor, variance: Tensor) {
            precondition(mean.shape == variance.shape && mean.rank == 1, "BatchNorm1d statistics: mean \(mean.shape), variance \(variance.shape)")
            self.mean = mean
            self.variance = variance
        }
    }

    public init(_ channels: Int, eps: Double = 1e-5, momentum: Double = 0.1, dtype: DType = .float32) {
        precondition(channels > 0 && eps > 0 && momentum >= 0 && momentum <= 1, "BatchNorm1d: channels > 0, eps > 0, momentum in [0, 1]")
        weight = Initializer.constant(1, [channels], dtype: dtype)
        bias = Initializer.constant(0, [channels], dtype: dtype)
        self.eps = eps
        self.momentum = momentum
    }

    public var channels: Int { weight.count }

    /// torch's `reset_running_stats`: mean 0, variance 1.
    public func initialStatistics() -> Statistics {
        Statistics(mean: Tensor.zeros([channels], dtype: weight.dtype), variance: Tensor.full(1, [channels], dtype: weight.dtype))
    }

    /// Training mode. x [M, C], M ≥ 2 → y [M, C] and the running statistics after this batch.
    public func training(_ x: Tensor, running: Statistics) -> (output: Tensor, running: Statistics) {
        precondition(x.rank == 2 && x.shape[1] == channels, "BatchNorm1d: x must be [M, \(channels)], got \(x.shape)")
        let m = x.shape[0]
        precondition(m >= 2, "BatchNorm1d: training needs more than 1 value per channel (torch raises too), got M = \(m)")
        precondition(running.mean.shape == [channels], "BatchNorm1d: running statistics \(running.mean.shape) for \(channels) channels")
        let mean = x.mean(axes: [0], keepDims: true)                          // μ_B [1, C]
        let centred = x - mean
        let variance = centred.square().mean(axes: [0], keepDims: true)        // σ²_B [1, C], biased
        let y = centred / (variance + eps).sqrt() * weight + bias
        let next = Tensor.withoutGrad { () -> Statistics in
            let unbiased = variance.detached().reshaped([channels]) * (Double(m) / Double(m - 1))
            return Statistics(mean: running.mean * (1 - momentum) + mean.detached().reshaped([channels]) * momentum,
                              variance: running.variance * (1 - momentum) + unbiased * momentum)
        }
        return (y, next)
    }

    /// Evaluation mode: normalised by the running statistics. x [M, C] → [M, C].
    public func evaluation(_ x: Tensor, running: Statistics) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == channels, "BatchNorm1d: x must be [M, \(channels)], got \(x.shape)")
        let scale = Tensor.withoutGrad { (running.variance + eps).sqrt() }
        return (x - running.mean) / scale * weight + bias
    }

    public func namedParameters() -> [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
}
