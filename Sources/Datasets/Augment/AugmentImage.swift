/// An image being augmented: float32 channels-first [C, H, W] with values in [0, 1] (what
/// torchvision's ToTensor produces), so every augmentation follows torchvision's *tensor* code
/// path on float tensors.
public struct AugmentImage: Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// [channels * height * width], plane after plane.
    public var pixels: [Float]

    public init(channels: Int, height: Int, width: Int, pixels: [Float]) {
        precondition(pixels.count == channels * height * width, "pixels must be [C, H, W]")
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    public init(channels: Int, height: Int, width: Int, repeating value: Float = 0) {
        self.init(channels: channels, height: height, width: width,
                  pixels: [Float](repeating: value, count: channels * height * width))
    }

    /// From uint8 HWC (a pack image) to float CHW / 255, like ToTensor.
    public init(hwc bytes: ArraySlice<UInt8>, height: Int, width: Int, channels: Int) {
        precondition(bytes.count == height * width * channels, "bytes must be [H, W, C]")
        var pixels = [Float](repeating: 0, count: bytes.count)
        let plane = height * width
        var source = bytes.startIndex
        for index in 0..<plane {
            for c in 0..<channels {
                pixels[c * plane + index] = Float(bytes[source]) / 255
                source += 1
            }
        }
        self.init(channels: channels, height: height, width: width, pixels: pixels)
    }

    @inline(__always) public func index(_ c: Int, _ y: Int, _ x: Int) -> Int { (c * height + y) * width + x }

    public subscript(c: Int, y: Int, x: Int) -> Float {
        get { pixels[index(c, y, x)] }
        set { pixels[index(c, y, x)] = newValue }
    }

    /// Images with 1 channel are replicated to 3, so colour augmentations always see RGB.
    public func asRGB() -> AugmentImage {
        guard channels == 1 else { return self }
        return AugmentImage(channels: 3, height: height, width: width, pixels: pixels + pixels + pixels)
    }
}
