import Datasets
import Foundation
import TensorCore
import Testing

/// A deterministic test image [3, h, w] with distinct values per pixel and channel.
func patternImage(height: Int, width: Int) -> AugmentImage {
    var image = AugmentImage(channels: 3, height: height, width: width)
    for c in 0..<3 {
        for y in 0..<height {
            for x in 0..<width { image[c, y, x] = Float((c * 7 + y * 13 + x * 29) % 97) / 96 }
        }
    }
    return image
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct AugmentTests {
    @Test func resizeAtScaleOneIsIdentity() {
        let image = patternImage(height: 9, width: 11)
        let box = CropBox(top: 2, left: 3, height: 5, width: 6)
        for interpolation in [Interpolation.bilinear, .bicubic] {
            let crop = Augment.resizedCrop(image, box: box, outputHeight: 5, outputWidth: 6, interpolation: interpolation)
            for c in 0..<3 {
                for y in 0..<5 {
                    for x in 0..<6 { #expect(crop[c, y, x] == image[c, y + 2, x + 3]) }
                }
            }
        }
    }

    /// Values of F.interpolate(align_corners=False, antialias=False) on a 1x2 ramp, derived by
    /// hand from PyTorch's source-index and cubic-convolution (A = -0.75) formulas.
    @Test func upsamplingMatchesPyTorchFormulas() {
        let ramp = AugmentImage(channels: 1, height: 1, width: 2, pixels: [0, 1])
        let box = CropBox(top: 0, left: 0, height: 1, width: 2)
        let bilinear = Augment.resizedCrop(ramp, box: box, outputHeight: 1, outputWidth: 4, interpolation: .bilinear)
        #expect(bilinear.pixels == [0, 0.25, 0.75, 1])
        let bicubic = Augment.resizedCrop(ramp, box: box, outputHeight: 1, outputWidth: 4, interpolation: .bicubic)
        #expect(maxDifference(bicubic.pixels, [-0.10546875, 0.2265625, 0.7734375, 1.10546875]) < 1e-6)
        let four = AugmentImage(channels: 1, height: 1, width: 4, pixels: [0, 1, 2, 3])
        let down = Augment.resizedCrop(four, box: CropBox(top: 0, left: 0, height: 1, width: 4),
                                       outputHeight: 1, outputWidth: 2, interpolation: .bilinear)
        #expect(down.pixels == [0.5, 2.5])
    }

    @Test func randomResizedCropRespectsScaleRatioAndBounds() {
        var rng = RandomStream(seed: 7)
        var fallbacks = 0
        for _ in 0..<500 {
            let box = Augment.randomResizedCropBox(height: 32, width: 40, scale: 0.2...1.0, ratio: 0.75...(4.0 / 3), rng: &rng)
            #expect(box.top >= 0 && box.left >= 0 && box.top + box.height <= 32 && box.left + box.width <= 40)
            let fraction = Double(box.height * box.width) / Double(32 * 40)
            if box.height == 32 && box.width == 40 { fallbacks += 1; continue }
            // Rounding of w and h moves the area a little outside the drawn range.
            #expect(fraction > 0.15 && fraction <= 1.0)
            let aspect = Double(box.width) / Double(box.height)
            #expect(aspect > 0.6 && aspect < 1.6)
        }
        #expect(fallbacks < 100)
        var a = RandomStream(seed: 3), b = RandomStream(seed: 3)
        #expect(Augment.randomResizedCropBox(height: 32, width: 32, scale: 0.05...0.4, ratio: 0.75...1.33, rng: &a)
                == Augment.randomResizedCropBox(height: 32, width: 32, scale: 0.05...0.4, ratio: 0.75...1.33, rng: &b))
    }

    @Test func flipMirrorsColumns() {
        let image = patternImage(height: 4, width: 5)
        let flipped = Augment.horizontalFlip(image)
        #expect(flipped[1, 2, 0] == image[1, 2, 4])
        #expect(Augment.horizontalFlip(flipped) == image)
    }

    @Test func colourAdjustmentsFollowTorchvisionDefinitions() {
        let image = patternImage(height: 6, width: 6)
        let darker = Augment.adjustBrightness(image, factor: 0.5)
        #expect(maxDifference(darker.pixels, image.pixels.map { $0 * 0.5 }) < 1e-7)
        let brighter = Augment.adjustBrightness(image, factor: 3)
        #expect(brighter.pixels.allSatisfy { $0 <= 1 })
        // Contrast 0: every value becomes the mean luma.
        let flat = Augment.adjustContrast(image, factor: 0)
        let plane = 36
        var mean: Float = 0
        for i in 0..<plane { mean += 0.2989 * image.pixels[i] + 0.587 * image.pixels[plane + i] + 0.114 * image.pixels[2 * plane + i] }
        mean /= Float(plane)
        #expect(maxDifference(flat.pixels, [Float](repeating: mean, count: 3 * plane)) < 1e-6)
        // Saturation 0 equals grayscale.
        #expect(maxDifference(Augment.adjustSaturation(image, factor: 0).pixels, Augment.grayscale(image).pixels) < 1e-6)
        #expect(maxDifference(Augment.adjustSaturation(image, factor: 1).pixels, image.pixels) < 1e-6)
        // Hue 0 is (numerically) the identity; a third of a turn maps red to green, half to cyan.
        #expect(maxDifference(Augment.adjustHue(image, factor: 0).pixels, image.pixels) < 1e-5)
        let red = AugmentImage(channels: 3, height: 1, width: 1, pixels: [1, 0, 0])
        #expect(maxDifference(Augment.adjustHue(red, factor: 1.0 / 3).pixels, [0, 1, 0]) < 1e-5)
        #expect(maxDifference(Augment.adjustHue(red, factor: 0.5).pixels, [0, 1, 1]) < 1e-5)
        #expect(maxDifference(Augment.adjustHue(red, factor: -1.0 / 3).pixels, [0, 0, 1]) < 1e-5)
    }

    @Test func colorJitterIsDeterministicAndChangesTheImage() {
        let image = patternImage(height: 8, width: 8)
        let strength = ColorJitterStrength(brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1)
        var a = RandomStream(seed: 11), b = RandomStream(seed: 11)
        let first = Augment.colorJitter(image, strength: strength, rng: &a)
        #expect(first == Augment.colorJitter(image, strength: strength, rng: &b))
        #expect(first != image)
        #expect(first.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test func blurSolarizeNormalize() {
        let kernel = Augment.gaussianKernel(size: 5, sigma: 1.0)
        #expect(abs(kernel.reduce(0, +) - 1) < 1e-6)
        #expect(kernel[0] == kernel[4] && kernel[1] == kernel[3] && kernel[2] > kernel[1])
        let constant = AugmentImage(channels: 3, height: 5, width: 5, repeating: 0.3)
        #expect(maxDifference(Augment.gaussianBlur(constant, kernelSize: 3, sigma: 1).pixels, constant.pixels) < 1e-6)
        var impulse = AugmentImage(channels: 1, height: 5, width: 5)
        impulse[0, 2, 2] = 1
        let blurred = Augment.gaussianBlur(impulse, kernelSize: 3, sigma: 0.8)
        let k = Augment.gaussianKernel(size: 3, sigma: 0.8)
        #expect(abs(blurred[0, 1, 3] - k[0] * k[2]) < 1e-6)
        #expect(abs(blurred[0, 2, 2] - k[1] * k[1]) < 1e-6)
        let ramp = AugmentImage(channels: 1, height: 1, width: 3, pixels: [0.2, 0.5, 0.9])
        #expect(Augment.solarize(ramp, threshold: 0.5).pixels == [0.2, 0.5, 1 - 0.9 as Float])
        let normal = Augment.normalize(AugmentImage(channels: 3, height: 1, width: 1, pixels: [0.5, 0.5, 0.5]),
                                       mean: [0.5, 0.25, 0], std: [1, 0.5, 2])
        #expect(normal.pixels == [0, 0.5, 0.25])
    }

    @Test func hwcBytesBecomeChannelsFirstFloats() {
        let bytes: [UInt8] = [255, 0, 51, 0, 255, 102]  // 1x2 pixels, RGB
        let image = AugmentImage(hwc: bytes[...], height: 1, width: 2, channels: 3)
        #expect(image.pixels == [1, 0, 0, 1, 0.2, 0.4])
    }
}
