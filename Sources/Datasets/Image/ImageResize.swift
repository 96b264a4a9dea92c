/// Resizing of 8-bit HWC images the way Pillow does it, so packs match what the papers' PIL
/// pipelines saw: `Image.resize(size, BILINEAR)` (antialiased triangle filter whose support
/// grows with the downscale factor, fixed-point coefficients with 22 fraction bits, horizontal
/// pass first with an 8-bit intermediate) and `Image.resize(size, NEAREST)` for label masks.
public enum ImageResize {
    static let precisionBits = 22

    /// Fixed-point coefficients of one axis (Pillow's precompute_coeffs + normalize_coeffs_8bpc).
    static func coefficients(input: Int, output: Int) -> (bounds: [(Int, Int)], weights: [[Int32]]) {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        var bounds: [(Int, Int)] = []
        var weights: [[Int32]] = []
        for o in 0..<output {
            let center = (Double(o) + 0.5) * scale
            let inverse = 1 / filterScale
            var low = Int(center - support + 0.5)
            if low < 0 { low = 0 }
            var high = Int(center + support + 0.5)
            if high > input { high = input }
            let count = high - low
            var k = (0..<count).map { x -> Double in
                let t = abs((Double(x + low) - center + 0.5) * inverse)
                return t < 1 ? 1 - t : 0
            }
            let total = k.reduce(0, +)
            if total != 0 { k = k.map { $0 / total } }
            let fixed = k.map { value -> Int32 in
                let scaled = value * Double(1 << precisionBits)
                return Int32(value < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            bounds.append((low, count))
            weights.append(fixed)
        }
        return (bounds, weights)
    }

    @inline(__always) static func clip8(_ value: Int) -> UInt8 {
        let shifted = value >> precisionBits
        return UInt8(clamping: shifted)
    }

    /// Pillow BILINEAR resize of an HWC uint8 image.
    public static func bilinear(_ image: DecodedImage, height: Int, width: Int) -> DecodedImage {
        precondition(height > 0 && width > 0)
        if image.height == height && image.width == width { return image }
        let c = image.channels
        var current = image
        if width != image.width {
            let (bounds, weights) = coefficients(input: image.width, output: width)
            var out = [UInt8](repeating: 0, count: image.height * width * c)
            for y in 0..<image.height {
                for x in 0..<width {
                    let (low, count) = bounds[x]
                    for channel in 0..<c {
                        var sum = 1 << (precisionBits - 1)
                        for k in 0..<count {
                            sum += Int(current.pixels[(y * image.width + low + k) * c + channel]) * Int(weights[x][k])
                        }
                        out[(y * width + x) * c + channel] = clip8(sum)
                    }
                }
            }
            current = DecodedImage(height: image.height, width: width, channels: c, pixels: out)
        }
        if height != image.height {
            let (bounds, weights) = coefficients(input: image.height, output: height)
            var out = [UInt8](repeating: 0, count: height * width * c)
            for y in 0..<height {
                let (low, count) = bounds[y]
                for x in 0..<width {
                    for channel in 0..<c {
                        var sum = 1 << (precisionBits - 1)
                        for k in 0..<count {
                            sum += Int(current.pixels[((low + k) * width + x) * c + channel]) * Int(weights[y][k])
                        }
                        out[(y * width + x) * c + channel] = clip8(sum)
                    }
                }
            }
            current = DecodedImage(height: height, width: width, channels: c, pixels: out)
        }
        return current
    }

    /// Pillow NEAREST resize, i.e. its scale-only affine path (ImagingScaleAffine): the source
    /// coordinate starts at scale / 2 and is advanced by adding `scale` in double precision per
    /// output pixel, then truncated. The accumulation (not (o + 0.5) * scale) is what matches
    /// Pillow bit for bit. Never mixes labels.
    public static func nearest(_ image: DecodedImage, height: Int, width: Int) -> DecodedImage {
        let c = image.channels
        func indices(input: Int, output: Int) -> [Int] {
            let scale = Double(input) / Double(output)
            var coordinate = scale * 0.5
            var result: [Int] = []
            for _ in 0..<output {
                result.append(min(Int(coordinate), input - 1))
                coordinate += scale
            }
            return result
        }
        let xs = indices(input: image.width, output: width)
        let ys = indices(input: image.height, output: height)
        var out = [UInt8](repeating: 0, count: height * width * c)
        for y in 0..<height {
            for x in 0..<width {
                for channel in 0..<c { out[(y * width + x) * c + channel] = image.pixels[(ys[y] * image.width + xs[x]) * c + channel] }
            }
        }
        return DecodedImage(height: height, width: width, channels: c, pixels: out)
    }

    /// Crops rows top..<top+height, columns left..<left+width.
    public static func crop(_ image: DecodedImage, top: Int, left: Int, height: Int, width: Int) -> DecodedImage {
        precondition(top >= 0 && left >= 0 && top + height <= image.height && left + width <= image.width)
        let c = image.channels
        var out = [UInt8]()
        out.reserveCapacity(height * width * c)
        for y in top..<(top + height) {
            let start = (y * image.width + left) * c
            out.append(contentsOf: image.pixels[start..<(start + width * c)])
        }
        return DecodedImage(height: height, width: width, channels: c, pixels: out)
    }

    /// torchvision Resize(size) on PIL: shorter side -> size, longer side int(size * long / short).
    public static func shorterSideSize(height: Int, width: Int, target: Int) -> (height: Int, width: Int) {
        if height <= width { return (target, Int(Double(target) * Double(width) / Double(height))) }
        return (Int(Double(target) * Double(height) / Double(width)), target)
    }

    /// torchvision CenterCrop offsets: int(round((size - crop) / 2)) (Python rounds half to even).
    public static func centerOffset(_ size: Int, _ crop: Int) -> Int {
        Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }

    /// Shorter-side resize to `size` (bilinear, or nearest for masks) then a centred size x size
    /// crop. Returns the result with the scale factors and crop offsets used.
    /// The resized image may hold at most `ImageCodec.maximumPixels`: a valid but extreme aspect
    /// ratio (a 1 x 16,000,000 PNG at size 64) is an error naming `file`, not a 200 GB allocation.
    public static func resizeAndCenterCrop(_ image: DecodedImage, size: Int, nearestNeighbour: Bool = false, file: String) throws
        -> (image: DecodedImage, scaleY: Double, scaleX: Double, top: Int, left: Int)
    {
        let target = shorterSideSize(height: image.height, width: image.width, target: size)
        let (pixels, overflow) = target.height.multipliedReportingOverflow(by: target.width)
        guard !overflow, pixels <= ImageCodec.maximumPixels else {
            throw DatasetError(file, "a \(image.width)x\(image.height) image resized to a shorter side of \(size) would be "
                               + "\(target.width)x\(target.height) pixels, above the limit of \(ImageCodec.maximumPixels)")
        }
        let resized = nearestNeighbour
            ? nearest(image, height: target.height, width: target.width)
            : bilinear(image, height: target.height, width: target.width)
        let top = centerOffset(target.height, size)
        let left = centerOffset(target.width, size)
        return (crop(resized, top: top, left: left, height: size, width: size),
                Double(target.height) / Double(image.height), Double(target.width) / Double(image.width), top, left)
    }
}
