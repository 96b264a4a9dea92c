import Foundation
import TensorCore

/// A crop box in source pixels: rows top ..< top+height, columns left ..< left+width.
public struct CropBox: Equatable, Sendable {
    public var top: Int
    public var left: Int
    public var height: Int
    public var width: Int
    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }
}

/// Interpolation of the resize in RandomResizedCrop: torchvision's tensor path with
/// antialias=False, i.e. torch.nn.functional.interpolate(mode, align_corners=False).
public enum Interpolation: String, Sendable {
    case bilinear
    case bicubic
}

extension Augment {
    /// RandomResizedCrop.get_params (torchvision): up to 10 tries of an area fraction drawn
    /// from `scale` and a log-uniform aspect ratio from `ratio`; then the central fallback.
    public static func randomResizedCropBox(
        height: Int, width: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>, rng: inout RandomStream
    ) -> CropBox {
        let area = Double(height * width)
        let logRatio = (log(ratio.lowerBound), log(ratio.upperBound))
        for _ in 0..<10 {
            let targetArea = area * rng.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(rng.uniform(logRatio.0, logRatio.1))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, w <= width, h > 0, h <= height {
                let top = rng.nextInt(below: height - h + 1)
                let left = rng.nextInt(below: width - w + 1)
                return CropBox(top: top, left: left, height: h, width: w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width
        var h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Crops `box` and resizes it to outputHeight x outputWidth (F.resized_crop).
    /// Bicubic output of float images is not clamped, as in torchvision.
    public static func resizedCrop(
        _ image: AugmentImage, box: CropBox, outputHeight: Int, outputWidth: Int, interpolation: Interpolation
    ) -> AugmentImage {
        precondition(box.top >= 0 && box.left >= 0 && box.height > 0 && box.width > 0
                     && box.top + box.height <= image.height && box.left + box.width <= image.width,
                     "crop box \(box) outside image \(image.height)x\(image.width)")
        let rows = axisWeights(input: box.height, output: outputHeight, offset: box.top, interpolation: interpolation)
        let columns = axisWeights(input: box.width, output: outputWidth, offset: box.left, interpolation: interpolation)
        var output = AugmentImage(channels: image.channels, height: outputHeight, width: outputWidth)
        var rowBuffer = [Float](repeating: 0, count: outputWidth)
        image.pixels.withUnsafeBufferPointer { source in
            output.pixels.withUnsafeMutableBufferPointer { out in
                for c in 0..<image.channels {
                    let plane = c * image.height * image.width
                    for oy in 0..<outputHeight {
                        var accumulator = [Float](repeating: 0, count: outputWidth)
                        // Interpolate along x in each contributing source row, then combine along y
                        // (the order of PyTorch's CPU kernels).
                        for (tap, sourceRow) in rows.indices[oy].enumerated() {
                            let rowStart = plane + sourceRow * image.width
                            for ox in 0..<outputWidth {
                                var value: Float = 0
                                for (k, sourceColumn) in columns.indices[ox].enumerated() {
                                    value += columns.weights[ox][k] * source[rowStart + sourceColumn]
                                }
                                rowBuffer[ox] = value
                            }
                            let weight = rows.weights[oy][tap]
                            for ox in 0..<outputWidth { accumulator[ox] += weight * rowBuffer[ox] }
                        }
                        let outStart = (c * outputHeight + oy) * outputWidth
                        for ox in 0..<outputWidth { out[outStart + ox] = accumulator[ox] }
                    }
                }
            }
        }
        return output
    }

    /// Source indices (absolute, clamped) and weights of each output position along one axis.
    static func axisWeights(
        input: Int, output: Int, offset: Int, interpolation: Interpolation
    ) -> (indices: [[Int]], weights: [[Float]]) {
        let scale = Float(input) / Float(output)
        var indices: [[Int]] = []
        var weights: [[Float]] = []
        for o in 0..<output {
            switch interpolation {
            case .bilinear:
                let source = max(scale * (Float(o) + 0.5) - 0.5, 0)
                let i0 = Int(source)
                let i1 = i0 < input - 1 ? i0 + 1 : i0
                let lambda1 = source - Float(i0)
                indices.append([offset + i0, offset + i1])
                weights.append([1 - lambda1, lambda1])
            case .bicubic:
                let source = scale * (Float(o) + 0.5) - 0.5
                let base = Int(source.rounded(.down))
                let t = source - Float(base)
                let a: Float = -0.75
                func inner(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
                func outer(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
                indices.append((-1...2).map { offset + min(max(base + $0, 0), input - 1) })
                weights.append([outer(t + 1), inner(t), inner(1 - t), outer(2 - t)])
            }
        }
        return (indices, weights)
    }

    /// Mirrors columns (F.hflip).
    public static func horizontalFlip(_ image: AugmentImage) -> AugmentImage {
        var output = image
        for c in 0..<image.channels {
            for y in 0..<image.height {
                let row = (c * image.height + y) * image.width
                for x in 0..<image.width { output.pixels[row + x] = image.pixels[row + image.width - 1 - x] }
            }
        }
        return output
    }
}

/// Namespace of the pure augmentation functions: each takes an image (and, where random, an
/// `inout RandomStream`) and returns a new image, so objectives and tests can call them alone.
public enum Augment {}
