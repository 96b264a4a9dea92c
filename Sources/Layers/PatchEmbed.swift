import TensorCore

/// Patch embedding: Conv2d(C, D, kernel = stride = p), computed as a Linear on flattened
/// patches. The weight is kept as [D, C·p·p], which is timm's `patch_embed.proj.weight`
/// [D, C, p, p] flattened in the same (c, i, j) order; checkpoints reshape it.
public final class PatchEmbed: Module {
    public let proj: Linear
    public let patch: Int
    public let channels: Int

    /// `.xavier`: MAE's `initialize_weights` re-draws the weight Xavier-uniform on its flattened
    /// view and leaves the Conv2d's bias at PyTorch's default U(±1/√fan_in), weight drawn first.
    /// `.truncatedNormal`: timm's `_init_weights` leaves the whole Conv2d at PyTorch's default
    /// (`Linear.torchDefault`).
    public init(patch: Int, channels: Int = 3, dimension: Int, initialization: WeightInitialization = .xavier,
                dtype: DType = .float32, rng: inout RandomStream) {
        self.patch = patch
        self.channels = channels
        let fanIn = channels * patch * patch
        switch initialization {
        case .xavier:
            let weight = Initializer.xavierUniform([dimension, fanIn], fanIn: fanIn, fanOut: dimension, dtype: dtype, rng: &rng)
            let bias = Initializer.uniform([dimension], bound: 1 / Double(fanIn).squareRoot(), dtype: dtype, rng: &rng)
            proj = Linear(weight: weight, bias: bias)
        case .truncatedNormal:
            proj = Linear.torchDefault(fanIn, dimension, dtype: dtype, rng: &rng)
        }
    }

    /// images [B, C, H, W] → tokens [B, (H/p)·(W/p), D], raster order.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        proj(Patchify.patches(images, patch: patch, order: .channelsFirst))
    }

    public func namedParameters() -> [(String, Tensor)] { proj.namedParameters(prefix: "proj") }
}

/// Cutting images into non-overlapping p×p patches.
public enum Patchify {
    public enum Order {
        /// (c, i, j): the flattening of a conv weight [D, C, p, p].
        case channelsFirst
        /// (i, j, c): MAE's `patchify` ("nchpwq->nhwpqc"), used for pixel targets.
        case channelsLast
    }

    /// images [B, C, H, W] → [B, (H/p)·(W/p), C·p·p].
    public static func patches(_ images: Tensor, patch p: Int, order: Order) -> Tensor {
        precondition(images.rank == 4, "patchify expects [B, C, H, W], got \(images.shape)")
        let (b, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        precondition(h % p == 0 && w % p == 0, "image \(h)×\(w) is not divisible into \(p)×\(p) patches")
        let x = images.reshaped([b, c, h / p, p, w / p, p])
        let perm = order == .channelsFirst ? [0, 2, 4, 1, 3, 5] : [0, 2, 4, 3, 5, 1]
        return x.permuted(perm).reshaped([b, (h / p) * (w / p), c * p * p])
    }
}
