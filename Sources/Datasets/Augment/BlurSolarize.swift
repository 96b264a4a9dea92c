import Foundation

extension Augment {
    /// torchvision's 1-D Gaussian kernel: pdf at linspace(-(k-1)/2, (k-1)/2, k), normalised.
    public static func gaussianKernel(size: Int, sigma: Float) -> [Float] {
        precondition(size > 0 && size % 2 == 1 && sigma > 0, "kernel size must be odd and sigma positive")
        let half = Float(size - 1) * 0.5
        let pdf = (0..<size).map { i -> Float in
            let x = (-half + Float(i)) / sigma
            return exp(-0.5 * x * x)
        }
        let sum = pdf.reduce(0, +)
        return pdf.map { $0 / sum }
    }

    /// Reflect-padding index (no edge repeat: -1 -> 1), valid for any offset.
    @inline(__always) static func reflect(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let period = 2 * (n - 1)
        var m = i % period
        if m < 0 { m += period }
        return m < n ? m : period - m
    }

    /// F.gaussian_blur: separable Gaussian with reflect padding (kernel `size`, `sigma` in pixels).
    public static func gaussianBlur(_ image: AugmentImage, kernelSize: Int, sigma: Float) -> AugmentImage {
        let kernel = gaussianKernel(size: kernelSize, sigma: sigma)
        let radius = kernelSize / 2
        let h = image.height, w = image.width
        var horizontal = image
        var output = image
        for c in 0..<image.channels {
            let plane = c * h * w
            for y in 0..<h {
                for x in 0..<w {
                    var sum: Float = 0
                    for k in 0..<kernelSize { sum += kernel[k] * image.pixels[plane + y * w + reflect(x + k - radius, w)] }
                    horizontal.pixels[plane + y * w + x] = sum
                }
            }
            for y in 0..<h {
                for x in 0..<w {
                    var sum: Float = 0
                    for k in 0..<kernelSize { sum += kernel[k] * horizontal.pixels[plane + reflect(y + k - radius, h) * w + x] }
                    output.pixels[plane + y * w + x] = sum
                }
            }
        }
        return output
    }

    /// F.solarize: values >= threshold become 1 - value.
    public static func solarize(_ image: AugmentImage, threshold: Float) -> AugmentImage {
        var output = image
        for i in output.pixels.indices where image.pixels[i] >= threshold { output.pixels[i] = 1 - image.pixels[i] }
        return output
    }

    /// F.normalize: (x - mean[c]) / std[c].
    public static func normalize(_ image: AugmentImage, mean: [Float], std: [Float]) -> AugmentImage {
        precondition(mean.count == image.channels && std.count == image.channels, "one mean and std per channel")
        var output = image
        let plane = image.height * image.width
        for c in 0..<image.channels {
            for i in 0..<plane { output.pixels[c * plane + i] = (image.pixels[c * plane + i] - mean[c]) / std[c] }
        }
        return output
    }
}
