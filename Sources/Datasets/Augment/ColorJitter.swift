import TensorCore

/// ColorJitter strengths as torchvision takes them: brightness, contrast and saturation
/// factors are drawn from [max(0, 1 - s), 1 + s], hue from [-h, h] (h <= 0.5).
public struct ColorJitterStrength: Equatable, Sendable {
    public var brightness: Double
    public var contrast: Double
    public var saturation: Double
    public var hue: Double
    public init(brightness: Double, contrast: Double, saturation: Double, hue: Double) {
        precondition(hue >= 0 && hue <= 0.5, "hue must be in [0, 0.5]")
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
    }
}

extension Augment {
    /// ITU-R 601-2 luma weights used by torchvision's rgb_to_grayscale.
    static let grayWeights: (Float, Float, Float) = (0.2989, 0.587, 0.114)

    /// blend(a, b, ratio) = clamp(ratio * a + (1 - ratio) * b, 0, 1).
    @inline(__always) static func blend(_ a: Float, _ b: Float, _ ratio: Float) -> Float {
        min(max(ratio * a + (1 - ratio) * b, 0), 1)
    }

    /// Luma plane [H * W] of an RGB image.
    static func luma(_ image: AugmentImage) -> [Float] {
        precondition(image.channels == 3, "colour operations need 3 channels")
        let plane = image.height * image.width
        return (0..<plane).map {
            grayWeights.0 * image.pixels[$0] + grayWeights.1 * image.pixels[plane + $0]
                + grayWeights.2 * image.pixels[2 * plane + $0]
        }
    }

    /// F.adjust_brightness: blend with black.
    public static func adjustBrightness(_ image: AugmentImage, factor: Float) -> AugmentImage {
        var output = image
        for i in output.pixels.indices { output.pixels[i] = blend(image.pixels[i], 0, factor) }
        return output
    }

    /// F.adjust_contrast: blend with the mean luma of the whole image.
    public static func adjustContrast(_ image: AugmentImage, factor: Float) -> AugmentImage {
        let gray = luma(image)
        let mean = gray.reduce(0, +) / Float(gray.count)
        var output = image
        for i in output.pixels.indices { output.pixels[i] = blend(image.pixels[i], mean, factor) }
        return output
    }

    /// F.adjust_saturation: blend with the per-pixel luma.
    public static func adjustSaturation(_ image: AugmentImage, factor: Float) -> AugmentImage {
        let gray = luma(image)
        let plane = gray.count
        var output = image
        for c in 0..<3 {
            for i in 0..<plane { output.pixels[c * plane + i] = blend(image.pixels[c * plane + i], gray[i], factor) }
        }
        return output
    }

    /// F.adjust_hue: rotate the hue in HSV by `factor` turns (factor in [-0.5, 0.5]),
    /// with torchvision's _rgb2hsv / _hsv2rgb.
    public static func adjustHue(_ image: AugmentImage, factor: Float) -> AugmentImage {
        precondition(image.channels == 3, "hue needs 3 channels")
        let plane = image.height * image.width
        var output = image
        for i in 0..<plane {
            let r = image.pixels[i], g = image.pixels[plane + i], b = image.pixels[2 * plane + i]
            var (h, s, v) = rgbToHSV(r, g, b)
            h = (h + factor).truncatingRemainder(dividingBy: 1)
            if h < 0 { h += 1 }
            let (r2, g2, b2) = hsvToRGB(h, s, v)
            output.pixels[i] = r2
            output.pixels[plane + i] = g2
            output.pixels[2 * plane + i] = b2
        }
        return output
    }

    static func rgbToHSV(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let maxc = max(r, g, b), minc = min(r, g, b)
        let equal = maxc == minc
        let chroma = maxc - minc
        let s = chroma / (equal ? 1 : maxc)
        let divisor = equal ? 1 : chroma
        let rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor
        var h: Float
        if maxc == r {
            h = bc - gc
        } else if maxc == g {
            h = 2 + rc - bc
        } else {
            h = 4 + gc - rc
        }
        h = (h / 6 + 1).truncatingRemainder(dividingBy: 1)
        return (h, s, maxc)
    }

    static func hsvToRGB(_ h: Float, _ s: Float, _ v: Float) -> (Float, Float, Float) {
        let scaled = h * 6
        let sector = scaled.rounded(.down)
        let f = scaled - sector
        let p = min(max(v * (1 - s), 0), 1)
        let q = min(max(v * (1 - s * f), 0), 1)
        let t = min(max(v * (1 - s * (1 - f)), 0), 1)
        switch ((Int(sector) % 6) + 6) % 6 {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }

    /// F.rgb_to_grayscale with 3 output channels.
    public static func grayscale(_ image: AugmentImage) -> AugmentImage {
        let gray = luma(image)
        return AugmentImage(channels: 3, height: image.height, width: image.width, pixels: gray + gray + gray)
    }

    /// ColorJitter.forward: a random order of the four adjustments (torch.randperm(4)), then
    /// the brightness, contrast, saturation and hue factors drawn in that fixed order
    /// (only for non-zero strengths), then applied in the random order.
    public static func colorJitter(_ image: AugmentImage, strength: ColorJitterStrength, rng: inout RandomStream) -> AugmentImage {
        let order = rng.permutation(4)
        func factor(_ s: Double) -> Float? { s > 0 ? Float(rng.uniform(max(0, 1 - s), 1 + s)) : nil }
        let brightness = factor(strength.brightness)
        let contrast = factor(strength.contrast)
        let saturation = factor(strength.saturation)
        let hue: Float? = strength.hue > 0 ? Float(rng.uniform(-strength.hue, strength.hue)) : nil
        var output = image
        for operation in order {
            switch operation {
            case 0: if let brightness { output = adjustBrightness(output, factor: brightness) }
            case 1: if let contrast { output = adjustContrast(output, factor: contrast) }
            case 2: if let saturation { output = adjustSaturation(output, factor: saturation) }
            default: if let hue { output = adjustHue(output, factor: hue) }
            }
        }
        return output
    }
}
