import Layers
import TensorCore

/// MAE's reconstruction targets (`norm_pix_loss`), shared by MAE and LoMaR.
///
/// images [B, C, H, W] → patches [B, N, p²·C] in MAE's `patchify` order (i, j, c), each patch
/// normalised by its own mean and **unbiased** variance: (x − μ) / √(σ²ₙ₋₁ + 1e-6)
/// (torch's `var` divides by n − 1; a port that divides by n does not match MAE).
public enum PixelTargets {
    public static func normalizedPatches(_ images: Tensor, patch: Int, eps: Double = 1e-6,
                                         normalize: Bool = true) -> Tensor {
        Tensor.withoutGrad {
            let t = Patchify.patches(images.detached(), patch: patch, order: .channelsLast)
            guard normalize else { return t }
            let mean = t.mean(axes: [-1], keepDims: true)
            let centred = t - mean
            let values = Double(t.shape[2])
            let variance = centred.square().sum(axes: [-1], keepDims: true) * (1 / (values - 1))
            return centred / (variance + eps).sqrt()
        }
    }

    /// Mean squared error per patch (mean over the p²·C values), averaged over the patches
    /// where `removed` is 1: pred, target [B, N, P]; removed [B, N] of 0/1 (1 = removed).
    public static func maskedLoss(prediction: Tensor, target: Tensor, removed: Tensor) -> Tensor {
        precondition(prediction.shape == target.shape && removed.shape == Array(prediction.shape.prefix(2)),
                     "maskedLoss: prediction \(prediction.shape), target \(target.shape), mask \(removed.shape)")
        let perPatch = (prediction - target).square().mean(axes: [-1])
        let count = removed.doubles.reduce(0, +)
        precondition(count > 0, "maskedLoss: no removed patch to average over")
        return (perPatch * removed).sum() / count
    }
}
