import Foundation
import Layers
import Objectives
import TensorCore

/// Features of a set of images: a flat row-major array with its shape, [N, F] for pooled kinds
/// and [N, gh, gw, D] for `grid`.
public struct ExtractedFeatures: Equatable, Sendable {
    public var values: [Float]
    public var shape: [Int]

    public init(values: [Float], shape: [Int]) {
        precondition(shape.count >= 2 && values.count == shape.reduce(1, *), "features \(values.count) do not fill \(shape)")
        self.values = values
        self.shape = shape
    }

    public var rows: Int { shape[0] }

    /// The last `count` values of every row of pooled features [N, F] → [N, count]: the final
    /// block of a `lastBlocks(k)` readout, whose blocks are concatenated earliest first.
    public func lastColumns(_ count: Int) -> ExtractedFeatures {
        precondition(shape.count == 2 && count >= 1 && count <= shape[1], "\(count) columns of features \(shape)")
        let width = shape[1]
        var out = [Float](repeating: 0, count: rows * count)
        for i in 0..<rows {
            for j in 0..<count { out[i * count + j] = values[i * width + width - count + j] }
        }
        return ExtractedFeatures(values: out, shape: [rows, count])
    }

    /// Values per token or per row: the last axis.
    public var dimension: Int { shape[shape.count - 1] }
    /// [count, gh, gw, D] as the dense heads take it.
    public var gridShape: TokenGridShape? {
        shape.count == 4 ? TokenGridShape(count: shape[0], gridHeight: shape[1], gridWidth: shape[2], dimension: shape[3]) : nil
    }
}

/// Feature extraction from a frozen encoder: images uint8 [N, H, W, C] are normalised
/// (`ImageNormalization`, no augmentation), run through the encoder in batches under
/// `Tensor.withoutGrad`, and read out as one or more `FeatureKind`s from the same pass.
///
/// The pass is the encoder's own forward (`VisionTransformer.encode(keepingLast:)`), which returns
/// the last blocks' normalised outputs for `lastk`; its final element is exactly `encoder(images)`.
/// Images must be square with a side divisible by the patch size; a side other than the
/// config's image size uses the bicubically resized position embedding (the encoder's rule).
/// BLAS threads are whatever the caller pinned (`BLAS.setThreads`); the CLI pins them.
///
/// Encoders pretrained with a relative-position attention bias (LoMaR, no absolute position)
/// are run with that bias on the full grid (`relativeBias`), through the same forward as
/// pretraining runs its windows.
public struct FeatureExtractor {
    public let encoder: VisionTransformer
    /// The relative-position tables an encoder was pretrained with, if any.
    public let relativeBias: RelativePositionBias?
    public let normalization: ImageNormalization
    /// Images per forward pass; nil picks `automaticBatchSize`.
    public let batchSize: Int?

    public init(encoder: VisionTransformer, relativeBias: RelativePositionBias? = nil,
                normalization: ImageNormalization = .imagenet, batchSize: Int? = nil) {
        precondition(batchSize.map { $0 >= 1 } ?? true, "batch size must be positive")
        self.encoder = encoder
        self.relativeBias = relativeBias
        self.normalization = normalization
        self.batchSize = batchSize
    }

    /// 256 images of the config's size per pass, fewer for larger images so a batch holds at most
    /// about 256 × (N + 1) tokens (attention memory grows with the square of the tokens).
    public func automaticBatchSize(height: Int, width: Int) -> Int {
        let tokens = (height / encoder.config.patchSize) * (width / encoder.config.patchSize) + 1
        let reference = encoder.config.patchCount + 1
        return max(1, min(256, 256 * reference / max(tokens, 1)))
    }

    /// The batch size used for images of this size.
    public func effectiveBatchSize(height: Int, width: Int) -> Int {
        batchSize ?? automaticBatchSize(height: height, width: width)
    }

    /// Checks that the images fit the encoder; throws naming `source`.
    public func checkGeometry(height: Int, width: Int, channels: Int, source: String) throws {
        let config = encoder.config
        guard channels == config.channels else {
            throw EvaluationError.invalidInput("\(source): images have \(channels) channels, the encoder takes \(config.channels)")
        }
        guard channels == normalization.mean.count else {
            throw EvaluationError.invalidInput("\(source): images have \(channels) channels, normalisation '\(normalization.name)' has \(normalization.mean.count)")
        }
        guard height == width, height % config.patchSize == 0, height > 0 else {
            throw EvaluationError.invalidInput(
                "\(source): images are \(height)x\(width); the encoder needs square images with a side divisible by its patch \(config.patchSize)")
        }
    }

    /// Per-image feature shape of `kind` for images of side `height` (no leading N).
    public func featureShape(_ kind: FeatureKind, height: Int, width: Int) -> [Int] {
        let d = encoder.config.dimension
        switch kind {
        case .cls, .mean: return [d]
        case .lastBlocks(let k): return [k * d]
        case .grid: return [height / encoder.config.patchSize, width / encoder.config.patchSize, d]
        case .gridLastBlocks(let k): return [height / encoder.config.patchSize, width / encoder.config.patchSize, k * d]
        }
    }

    /// Extracts every requested kind in one pass over images uint8 [count, H, W, C] (HWC).
    /// Returns one `ExtractedFeatures` per kind, in the order asked. `progress` hears the number
    /// of images done after each batch (a large split takes minutes).
    public func extract(images: [UInt8], count: Int, height: Int, width: Int, channels: Int, kinds: [FeatureKind],
                        source: String = "images", progress: ((Int) -> Void)? = nil) throws -> [ExtractedFeatures] {
        precondition(!kinds.isEmpty, "ask for at least one feature kind")
        guard count > 0, images.count == count * height * width * channels else {
            throw EvaluationError.invalidInput("\(source): \(images.count) pixel values do not form [\(count), \(height), \(width), \(channels)]")
        }
        try checkGeometry(height: height, width: width, channels: channels, source: source)
        let depth = encoder.config.depth
        for kind in kinds where kind.blocks > depth {
            throw EvaluationError.invalidInput("feature kind \(kind): the encoder has only \(depth) blocks")
        }
        let perImage = kinds.map { featureShape($0, height: height, width: width).reduce(1, *) }
        var outputs = perImage.map { [Float](repeating: 0, count: count * $0) }
        let batch = effectiveBatchSize(height: height, width: width)
        let deepest = kinds.map(\.blocks).max()!
        try images.withUnsafeBufferPointer { pixels in
            for start in stride(from: 0, to: count, by: batch) {
                let size = min(batch, count - start)
                let input = normalization.channelsFirst(pixels, first: start, count: size, height: height, width: width,
                                                        channels: channels)
                let blockOutputs = try Tensor.withoutGrad { () throws -> [[Float]] in
                    let x = Tensor(floats: input, shape: [size, channels, height, width])
                    var none: RandomStream? = nil
                    let kept = encoder.encode(encoder.prependCls(encoder.embed(x)),
                                              blockBias: relativeBias?.blockBias(grid: height / encoder.config.patchSize),
                                              dropPathRNG: &none, keepingLast: deepest).map(\.floats)
                    guard kept.last!.allSatisfy(\.isFinite) else {
                        throw EvaluationError.nonFinite("encoder output for \(source) images \(start)..<\(start + size)")
                    }
                    return kept
                }
                for (k, kind) in kinds.enumerated() {
                    outputs[k].withUnsafeMutableBufferPointer { out in
                        write(kind, from: blockOutputs, images: size, into: out.baseAddress! + start * perImage[k])
                    }
                }
                progress?(start + size)
            }
        }
        return kinds.indices.map { k in
            ExtractedFeatures(values: outputs[k], shape: [count] + featureShape(kinds[k], height: height, width: width))
        }
    }

    /// Convenience for one kind.
    public func extract(images: [UInt8], count: Int, height: Int, width: Int, channels: Int, kind: FeatureKind,
                        source: String = "images", progress: ((Int) -> Void)? = nil) throws -> ExtractedFeatures {
        try extract(images: images, count: count, height: height, width: width, channels: channels, kinds: [kind],
                    source: source, progress: progress)[0]
    }

    /// Pools normalised block outputs (each [B, T, D], the last is the final output) into `out`.
    private func write(_ kind: FeatureKind, from blocks: [[Float]], images: Int, into out: UnsafeMutablePointer<Float>) {
        let d = encoder.config.dimension
        let hasCls = encoder.config.clsToken
        let tokens = blocks.last!.count / (images * d)
        let first = hasCls ? 1 : 0
        let patches = tokens - first
        /// The pooled vector of image i from block output `values`: CLS or patch mean.
        func pool(_ values: [Float], image i: Int, useCls: Bool, to target: UnsafeMutablePointer<Float>) {
            let base = i * tokens * d
            if useCls {
                for j in 0..<d { target[j] = values[base + j] }
                return
            }
            // Mean over patch tokens, summed in Double in token order.
            var sums = [Double](repeating: 0, count: d)
            for t in first..<tokens { for j in 0..<d { sums[j] += Double(values[base + t * d + j]) } }
            for j in 0..<d { target[j] = Float(sums[j] / Double(patches)) }
        }
        let final = blocks.last!
        for i in 0..<images {
            switch kind {
            case .cls: pool(final, image: i, useCls: hasCls, to: out + i * d)
            case .mean: pool(final, image: i, useCls: false, to: out + i * d)
            case .lastBlocks(let k):
                let chosen = blocks.suffix(k)
                for (position, values) in chosen.enumerated() {
                    pool(values, image: i, useCls: hasCls, to: out + i * k * d + position * d)
                }
            case .grid:
                let base = (i * tokens + first) * d
                for v in 0..<(patches * d) { out[i * patches * d + v] = final[base + v] }
            case .gridLastBlocks(let k):
                let chosen = Array(blocks.suffix(k))
                for t in 0..<patches {
                    let target = out + (i * patches + t) * k * d
                    let base = (i * tokens + first + t) * d
                    for (position, values) in chosen.enumerated() {
                        for j in 0..<d { target[position * d + j] = values[base + j] }
                    }
                }
            }
        }
    }
}

/// Raw-pixel "features": the normalised image flattened in (C, H, W) order, the floor below any
/// encoder for the linear probe.
public enum RawPixelFeatures {
    /// images uint8 [count, H, W, C] → [count, C·H·W].
    public static func extract(images: [UInt8], count: Int, height: Int, width: Int, channels: Int,
                               normalization: ImageNormalization) -> ExtractedFeatures {
        let values = images.withUnsafeBufferPointer {
            normalization.channelsFirst($0, first: 0, count: count, height: height, width: width, channels: channels)
        }
        return ExtractedFeatures(values: values, shape: [count, channels * height * width])
    }
}
