import TensorCore

/// Where a view came from: the crop box in source pixels and whether it was mirrored.
/// Output pixel (oy, ox) of a view covers source rows top + (oy + 0.5) * height / size - 0.5
/// and, if flipped, source column left + width - (ox + 0.5) * width / size - 0.5.
public struct CropGeometry: Equatable, Sendable {
    public var box: CropBox
    public var flipped: Bool
    public var outputSize: Int
    public init(box: CropBox, flipped: Bool, outputSize: Int) {
        self.box = box
        self.flipped = flipped
        self.outputSize = outputSize
    }

    /// The source-pixel rectangle a patch of a `grid`×`grid` token grid on this view shows
    /// (row-major patch index; the flip mirrors the columns): rows top..<bottom, columns
    /// left..<right, fractional where the crop was resized.
    public func sourceRectangle(patch: Int, grid: Int) -> (top: Double, left: Double, bottom: Double, right: Double) {
        precondition(grid > 0 && patch >= 0 && patch < grid * grid, "patch \(patch) is not on a \(grid)×\(grid) grid")
        let row = Double(patch / grid), column = Double(patch % grid), g = Double(grid)
        let (x0, x1) = flipped ? ((g - column - 1) / g, (g - column) / g) : (column / g, (column + 1) / g)
        let sy = Double(box.height), sx = Double(box.width)
        return (Double(box.top) + row / g * sy, Double(box.left) + x0 * sx,
                Double(box.top) + (row + 1) / g * sy, Double(box.left) + x1 * sx)
    }

    /// Whether a patch of this view and a patch of `other` show a common area of the source.
    public func overlaps(patch: Int, of other: CropGeometry, patch otherPatch: Int, grid: Int) -> Bool {
        let a = sourceRectangle(patch: patch, grid: grid), b = other.sourceRectangle(patch: otherPatch, grid: grid)
        return min(a.bottom, b.bottom) > max(a.top, b.top) && min(a.right, b.right) > max(a.left, b.left)
    }
}

/// One view of a multi-crop pipeline, in torchvision's order: RandomResizedCrop, horizontal
/// flip, RandomApply(ColorJitter), RandomGrayscale, RandomApply(GaussianBlur),
/// RandomApply(Solarize), Normalize. Probabilities of 0 skip a step without drawing.
public struct ViewRecipe: Equatable, Sendable {
    public var size: Int
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)
    public var interpolation: Interpolation = .bicubic
    public var flipProbability: Double = 0.5
    public var jitter: ColorJitterStrength? = ColorJitterStrength(brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1)
    public var jitterProbability: Double = 0.8
    public var grayscaleProbability: Double = 0.2
    public var blurProbability: Double = 0
    /// Odd kernel size; torchvision needs it fixed, DINO's 224 px recipe uses PIL radius 0.1..2.
    public var blurKernelSize: Int = 3
    public var blurSigma: ClosedRange<Double> = 0.1...2.0
    public var solarizeProbability: Double = 0
    public var solarizeThreshold: Float = 128.0 / 255.0
    public var mean: [Float] = [0.485, 0.456, 0.406]
    public var std: [Float] = [0.229, 0.224, 0.225]

    public init(size: Int, scale: ClosedRange<Double>) {
        self.size = size
        self.scale = scale
    }

    /// Applies the recipe to one image (float CHW in [0, 1]); returns the view and its geometry.
    public func apply(_ source: AugmentImage, rng: inout RandomStream) -> (image: AugmentImage, geometry: CropGeometry) {
        let box = Augment.randomResizedCropBox(
            height: source.height, width: source.width, scale: scale, ratio: ratio, rng: &rng)
        var image = Augment.resizedCrop(source, box: box, outputHeight: size, outputWidth: size, interpolation: interpolation)
        let flipped = flipProbability > 0 && rng.nextDouble() < flipProbability
        if flipped { image = Augment.horizontalFlip(image) }
        return (colour(image, rng: &rng), CropGeometry(box: box, flipped: flipped, outputSize: size))
    }

    /// The recipe's steps after the flip, on any image (float CHW in [0, 1]): RGB, colour jitter,
    /// grayscale, blur, solarisation, normalisation. Spatial Reasoning's patch transform runs
    /// them on each cut patch, as its code does.
    public func colour(_ source: AugmentImage, rng: inout RandomStream) -> AugmentImage {
        var image = source.asRGB()
        if let jitter, jitterProbability > 0, rng.nextDouble() < jitterProbability {
            image = Augment.colorJitter(image, strength: jitter, rng: &rng)
        }
        if grayscaleProbability > 0, rng.nextDouble() < grayscaleProbability { image = Augment.grayscale(image) }
        if blurProbability > 0, rng.nextDouble() < blurProbability {
            let sigma = Float(rng.uniform(blurSigma.lowerBound, blurSigma.upperBound))
            image = Augment.gaussianBlur(image, kernelSize: blurKernelSize, sigma: sigma)
        }
        if solarizeProbability > 0, rng.nextDouble() < solarizeProbability {
            image = Augment.solarize(image, threshold: solarizeThreshold)
        }
        return Augment.normalize(image, mean: mean, std: std)
    }
}

/// A list of views made from each image (e.g. DINO: 2 global + n local crops).
public struct MultiCropRecipe: Equatable, Sendable {
    public var views: [ViewRecipe]
    public init(views: [ViewRecipe]) { self.views = views }

    /// DINO's recipe scaled to `globalSize` / `localSize`: global 1 blurs always, global 2
    /// blurs with p 0.1 and solarises with p 0.2, locals blur with p 0.5; scale split at 0.4
    /// (facebookresearch/dino main_dino.py DataAugmentationDINO).
    public static func dino(globalSize: Int, localSize: Int, localCrops: Int,
                            globalScale: ClosedRange<Double> = 0.4...1.0,
                            localScale: ClosedRange<Double> = 0.05...0.4) -> MultiCropRecipe {
        var global1 = ViewRecipe(size: globalSize, scale: globalScale)
        global1.blurProbability = 1.0
        var global2 = global1
        global2.blurProbability = 0.1
        global2.solarizeProbability = 0.2
        var local = ViewRecipe(size: localSize, scale: localScale)
        local.blurProbability = 0.5
        return MultiCropRecipe(views: [global1, global2] + Array(repeating: local, count: localCrops))
    }

    /// MoCo-v2 / DenseCL: two identical views (scale 0.2..1, blur p 0.5, jitter 0.4/0.4/0.4/0.1).
    public static func mocoV2(size: Int) -> MultiCropRecipe {
        var view = ViewRecipe(size: size, scale: 0.2...1.0)
        view.interpolation = .bilinear
        view.jitter = ColorJitterStrength(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)
        view.blurProbability = 0.5
        return MultiCropRecipe(views: [view, view])
    }

    /// Evaluation / MAE-style single view without colour changes.
    public static func single(size: Int, scale: ClosedRange<Double> = 0.2...1.0, flip: Bool = true) -> MultiCropRecipe {
        var view = ViewRecipe(size: size, scale: scale)
        view.jitter = nil
        view.grayscaleProbability = 0
        view.flipProbability = flip ? 0.5 : 0
        return MultiCropRecipe(views: [view])
    }
}
