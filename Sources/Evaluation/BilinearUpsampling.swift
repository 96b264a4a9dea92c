/// Bilinear resizing with align_corners=False, as torch.nn.functional.interpolate(mode='bilinear')
/// computes it on CPU, and its adjoint (the backward pass).
///
/// For an output index o along an axis of input length n and output length m:
/// s = max((o + 0.5) · n/m − 0.5, 0); i₀ = ⌊s⌋; i₁ = min(i₀ + 1, n − 1); λ = s − i₀;
/// out = (1 − λ) · in[i₀] + λ · in[i₁], separably in y and x.
public struct BilinearUpsampling<T: HeadScalar> {
    public let inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int
    let rows: [(Int, Int, T, T)]
    let columns: [(Int, Int, T, T)]

    public init(inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int) {
        precondition(inputHeight > 0 && inputWidth > 0 && outputHeight > 0 && outputWidth > 0, "sizes must be positive")
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        rows = Self.taps(input: inputHeight, output: outputHeight)
        columns = Self.taps(input: inputWidth, output: outputWidth)
    }

    /// (i₀, i₁, 1 − λ, λ) per output index; the scale n/m is computed in T as PyTorch does.
    static func taps(input: Int, output: Int) -> [(Int, Int, T, T)] {
        let scale = T(input) / T(output)
        return (0..<output).map { o in
            var source = scale * (T(o) + T(0.5)) - T(0.5)
            if source < 0 { source = 0 }
            let low = Int(source)
            let high = low < input - 1 ? low + 1 : low
            let lambda = source - T(low)
            return (low, high, 1 - lambda, lambda)
        }
    }

    /// input: [inputHeight, inputWidth, channels] → [outputHeight, outputWidth, channels].
    public func forward(_ input: [T], channels: Int) -> [T] {
        precondition(input.count == inputHeight * inputWidth * channels, "input must be [h, w, channels]")
        var output = [T](repeating: 0, count: outputHeight * outputWidth * channels)
        for oy in 0..<outputHeight {
            let (y0, y1, wy0, wy1) = rows[oy]
            for ox in 0..<outputWidth {
                let (x0, x1, wx0, wx1) = columns[ox]
                let o = (oy * outputWidth + ox) * channels
                let a = (y0 * inputWidth + x0) * channels, b = (y0 * inputWidth + x1) * channels
                let c = (y1 * inputWidth + x0) * channels, d = (y1 * inputWidth + x1) * channels
                for k in 0..<channels {
                    output[o + k] = wy0 * (wx0 * input[a + k] + wx1 * input[b + k])
                        + wy1 * (wx0 * input[c + k] + wx1 * input[d + k])
                }
            }
        }
        return output
    }

    /// Adjoint: adds the gradient of the output back onto the four source cells of each pixel.
    /// outputGradient: [outputHeight, outputWidth, channels]; inputGradient: [inputHeight, inputWidth, channels].
    public func backward(_ outputGradient: [T], channels: Int, inputGradient: inout [T]) {
        precondition(outputGradient.count == outputHeight * outputWidth * channels, "gradient must be [H, W, channels]")
        precondition(inputGradient.count == inputHeight * inputWidth * channels, "input gradient must be [h, w, channels]")
        for oy in 0..<outputHeight {
            let (y0, y1, wy0, wy1) = rows[oy]
            for ox in 0..<outputWidth {
                let (x0, x1, wx0, wx1) = columns[ox]
                let o = (oy * outputWidth + ox) * channels
                let a = (y0 * inputWidth + x0) * channels, b = (y0 * inputWidth + x1) * channels
                let c = (y1 * inputWidth + x0) * channels, d = (y1 * inputWidth + x1) * channels
                for k in 0..<channels {
                    let g = outputGradient[o + k]
                    inputGradient[a + k] += wy0 * wx0 * g
                    inputGradient[b + k] += wy0 * wx1 * g
                    inputGradient[c + k] += wy1 * wx0 * g
                    inputGradient[d + k] += wy1 * wx1 * g
                }
            }
        }
    }

    /// Which input cells [inputHeight · inputWidth] some output pixel of `mask` [outputHeight ·
    /// outputWidth] other than `ignoreIndex` reads (either tap on each axis, whatever its weight).
    func tokensReaching(_ mask: ArraySlice<UInt8>, ignoreIndex: UInt8) -> [Bool] {
        precondition(mask.count == outputHeight * outputWidth, "mask must be [outputHeight, outputWidth]")
        var reached = [Bool](repeating: false, count: inputHeight * inputWidth)
        let base = mask.startIndex
        for oy in 0..<outputHeight {
            let (y0, y1, _, _) = rows[oy]
            for ox in 0..<outputWidth where mask[base + oy * outputWidth + ox] != ignoreIndex {
                let (x0, x1, _, _) = columns[ox]
                reached[y0 * inputWidth + x0] = true
                reached[y0 * inputWidth + x1] = true
                reached[y1 * inputWidth + x0] = true
                reached[y1 * inputWidth + x1] = true
            }
        }
        return reached
    }
}
