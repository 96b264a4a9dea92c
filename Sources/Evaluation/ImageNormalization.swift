import Datasets

/// How uint8 pixels become encoder inputs: x = (p / 255 − mean[c]) / std[c], as torchvision's
/// `ToTensor` + `Normalize`. The default is ImageNet's constants because the pretraining views
/// (`Datasets.ViewRecipe`) normalise with them, so the frozen encoder sees the same input scale
/// at evaluation; `packStatistics` (per-channel mean/std of the pack's train split) is the option
/// for encoders pretrained that way. No augmentation is applied at evaluation.
public struct ImageNormalization: Equatable, Sendable {
    /// `imagenet` or `pack-train`.
    public var name: String
    /// [C] each.
    public var mean: [Float]
    public var std: [Float]

    public init(name: String, mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && std.allSatisfy { $0 > 0 }, "mean/std must match and std be positive")
        self.name = name
        self.mean = mean
        self.std = std
    }

    public static let imagenetName = "imagenet"
    public static let packTrainName = "pack-train"

    /// ImageNet's constants (the `ViewRecipe` default).
    public static let imagenet = ImageNormalization(name: imagenetName, mean: [0.485, 0.456, 0.406],
                                                    std: [0.229, 0.224, 0.225])

    /// The normalisation called `name`; `pack-train` takes its statistics from the split `train`
    /// returns (read only then).
    public static func named(_ name: String, train: () throws -> PackSplit) throws -> ImageNormalization {
        switch name {
        case imagenetName: return .imagenet
        case packTrainName:
            let split = try train()
            return packStatistics(images: split.images, channels: split.channels)
        default: throw EvaluationError.invalidInput("normalisation '\(name)': expected imagenet or pack-train")
        }
    }

    /// Per-channel mean and population std of p / 255 over all pixels of the images
    /// (uint8 [N, H, W, C]), summed in Double; a zero std becomes 1.
    public static func packStatistics(images: [UInt8], channels: Int) -> ImageNormalization {
        precondition(channels > 0 && images.count % channels == 0 && !images.isEmpty, "images must be [N, H, W, C]")
        var counts = [[Int]](repeating: [Int](repeating: 0, count: 256), count: channels)
        for (index, value) in images.enumerated() { counts[index % channels][Int(value)] += 1 }
        var means: [Float] = [], stds: [Float] = []
        for c in 0..<channels {
            var total = 0.0, sum = 0.0
            for v in 0..<256 { total += Double(counts[c][v]); sum += Double(counts[c][v]) * Double(v) / 255 }
            let mean = sum / total
            var squares = 0.0
            for v in 0..<256 {
                let centred = Double(v) / 255 - mean
                squares += Double(counts[c][v]) * centred * centred
            }
            let std = (squares / total).squareRoot()
            means.append(Float(mean))
            stds.append(std > 0 ? Float(std) : 1)
        }
        return ImageNormalization(name: packTrainName, mean: means, std: stds)
    }

    /// The constants of channel `c` alone (a one-channel normalisation under the same name).
    public func channel(_ c: Int) -> ImageNormalization {
        precondition(mean.indices.contains(c), "normalisation has \(mean.count) channels, not channel \(c)")
        return ImageNormalization(name: name, mean: [mean[c]], std: [std[c]])
    }

    /// Converts images uint8 [count, H, W, C] (HWC) starting at image `first` into float
    /// [count, C, H, W] (channels first), normalised.
    public func channelsFirst(_ images: UnsafeBufferPointer<UInt8>, first: Int, count: Int, height: Int, width: Int,
                              channels: Int) -> [Float] {
        precondition(channels == mean.count, "normalisation has \(mean.count) channels, images have \(channels)")
        let plane = height * width, imageValues = plane * channels
        var out = [Float](repeating: 0, count: count * imageValues)
        for i in 0..<count {
            let source = (first + i) * imageValues, target = i * imageValues
            for p in 0..<plane {
                for c in 0..<channels {
                    // (p/255 − m)/s computed as torchvision does: divide first, then normalise.
                    let x = Float(images[source + p * channels + c]) / 255
                    out[target + c * plane + p] = (x - mean[c]) / std[c]
                }
            }
        }
        return out
    }

    /// The protocol entry: name and constants.
    public var protocolSettings: ProtocolValue {
        // The Float's shortest decimal (0.485, not 0.48500001430511475).
        func decimal(_ value: Float) -> ProtocolValue { .number(Double("\(value)") ?? Double(value)) }
        return .object(["name": .string(name), "mean": .list(mean.map(decimal)), "std": .list(std.map(decimal))])
    }

    /// Text form for cache keys (exact constants).
    public var cacheKey: String {
        "\(name):" + mean.map { String($0.bitPattern, radix: 16) }.joined(separator: ",") + ":"
            + std.map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
    }
}
