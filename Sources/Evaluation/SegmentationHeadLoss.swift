/// Loss of the segmentation head on one batch, with its hand-written gradient.
///
/// Forward, per image: logits z [gh·gw, K] = head(x) on the (standardised) patch tokens (the
/// linear head z = x W + b, or the MLP of `TokenHead`);
/// upsampled logits u = Bilinear(z) [H, W, K] (align_corners=False); per pixel p whose label
/// is not the ignore index, CE_p = log Σ_c exp(u_pc) − u_p,y. Loss L = Σ_p CE_p / P, with P the
/// number of labelled pixels in the batch (PyTorch CrossEntropyLoss(ignore_index) 'mean').
///
/// Backward: ∂L/∂u_pc = (softmax(u_p)_c − [c = y_p]) / P (0 at ignored pixels);
/// ∂L/∂z = Bilinearᵀ(∂L/∂u) (each pixel's gradient goes back to its four source tokens with
/// the interpolation weights); then through the head (linear: ∂L/∂W = xᵀ ∂L/∂z, ∂L/∂b = Σ ∂L/∂z).
public struct SegmentationHeadLoss<T: HeadScalar> {
    public let gridHeight: Int, gridWidth: Int, dimension: Int
    public let maskHeight: Int, maskWidth: Int
    public let classes: Int
    public let ignoreIndex: UInt8
    let upsampling: BilinearUpsampling<T>

    public init(gridHeight: Int, gridWidth: Int, dimension: Int, maskHeight: Int, maskWidth: Int, classes: Int,
                ignoreIndex: UInt8 = 255) {
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.dimension = dimension
        self.maskHeight = maskHeight
        self.maskWidth = maskWidth
        self.classes = classes
        self.ignoreIndex = ignoreIndex
        upsampling = BilinearUpsampling(inputHeight: gridHeight, inputWidth: gridWidth,
                                        outputHeight: maskHeight, outputWidth: maskWidth)
    }

    /// Upsampled logits [count, H, W, K] for tokens [count, gh, gw, D] through the linear head.
    public func logits(tokens: [T], count: Int, weights: [T], bias: [T]) -> [T] {
        logits(tokens: tokens, count: count, head: .linear, parameters: [weights, bias])
    }

    /// Upsampled logits [count, H, W, K] for tokens [count, gh, gw, D] through `head`.
    public func logits(tokens: [T], count: Int, head: TokenHead, parameters: [[T]]) -> [T] {
        let tokensPerImage = gridHeight * gridWidth
        let z = head.forward(tokens, rows: count * tokensPerImage, dimension: dimension, parameters: parameters)
        var result: [T] = []
        result.reserveCapacity(count * maskHeight * maskWidth * classes)
        for image in 0..<count {
            let slice = Array(z[(image * tokensPerImage * classes)..<((image + 1) * tokensPerImage * classes)])
            result += upsampling.forward(slice, channels: classes)
        }
        return result
    }

    /// Mean CE over labelled pixels; adds ∂L/∂W [D, K] and ∂L/∂b [K] into the gradients.
    /// tokens: [count, gh, gw, D]; masks: [count, H, W]. A batch without labelled pixels has loss 0.
    public func lossAndGradient(tokens: [T], masks: [UInt8], count: Int, weights: [T], bias: [T],
                                weightGradient: inout [T], biasGradient: inout [T]) -> T {
        var gradients = [weightGradient, biasGradient]
        let value = lossAndGradient(tokens: tokens, masks: masks, count: count, head: .linear,
                                    parameters: [weights, bias], gradients: &gradients)
        weightGradient = gradients[0]
        biasGradient = gradients[1]
        return value
    }

    /// Mean CE over labelled pixels through `head`; adds ∂L/∂θ into `gradients` (one array per
    /// parameter group). A batch without labelled pixels has loss 0.
    public func lossAndGradient(tokens: [T], masks: [UInt8], count: Int, head: TokenHead, parameters: [[T]],
                                gradients: inout [[T]]) -> T {
        let tokensPerImage = gridHeight * gridWidth
        precondition(tokens.count == count * tokensPerImage * dimension, "tokens must be [count, gh, gw, D]")
        precondition(masks.count == count * maskHeight * maskWidth, "masks must be [count, H, W]")
        guard masks.contains(where: { $0 != ignoreIndex }) else { return 0 }
        return head.lossAndGradient(tokens, rows: count * tokensPerImage, dimension: dimension, parameters: parameters,
                                    gradients: &gradients) { z in pixelLossAndGradient(tokenLogits: z, masks: masks, count: count) }
    }

    /// The loss of token logits z [count, gh, gw, K] (upsampled, CE per labelled pixel, mean) and ∂L/∂z.
    func pixelLossAndGradient(tokenLogits z: [T], masks: [UInt8], count: Int) -> (T, [T]) {
        let tokensPerImage = gridHeight * gridWidth
        let pixels = maskHeight * maskWidth
        let k = classes
        let labelled = masks.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        let inverseCount = 1 / T(labelled)
        var tokenGradient = [T](repeating: 0, count: z.count)
        var total: T = 0
        var pixelGradient = [T](repeating: 0, count: pixels * k)
        for image in 0..<count {
            let slice = Array(z[(image * tokensPerImage * k)..<((image + 1) * tokensPerImage * k)])
            let u = upsampling.forward(slice, channels: k)
            for p in 0..<pixels {
                let label = masks[image * pixels + p]
                let row = p * k
                if label == ignoreIndex {
                    for c in 0..<k { pixelGradient[row + c] = 0 }
                    continue
                }
                var largest = u[row]
                for c in 1..<k { largest = max(largest, u[row + c]) }
                var sum: T = 0
                for c in 0..<k {
                    let e = T.exponential(u[row + c] - largest)
                    pixelGradient[row + c] = e
                    sum += e
                }
                let y = Int(label)
                total += T.logarithm(sum) - (u[row + y] - largest)
                for c in 0..<k { pixelGradient[row + c] = pixelGradient[row + c] / sum * inverseCount }
                pixelGradient[row + y] -= inverseCount
            }
            var imageTokenGradient = [T](repeating: 0, count: tokensPerImage * k)
            upsampling.backward(pixelGradient, channels: k, inputGradient: &imageTokenGradient)
            for i in 0..<imageTokenGradient.count { tokenGradient[image * tokensPerImage * k + i] = imageTokenGradient[i] }
        }
        return (total * inverseCount, tokenGradient)
    }
}
