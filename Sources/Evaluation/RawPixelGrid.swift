import Foundation

/// The raw-pixel reference for the dense probes (`eval seg|det --raw-pixels`): a token grid
/// whose token is its patch's normalised pixels, flattened in (C, y, x) order — what a ViT's
/// patch embedding reads before its linear map. With the tiny encoders' patch of 4 a 64 px
/// scene gives the same 16 x 16 grid as the encoders, 48 values per token.
public enum RawPixelGrid {
    /// The tiny encoders' patch size, the default.
    public static let defaultPatchSize = 4

    /// images uint8 [count, H, W, C] → [count, H/p, W/p, C·p·p].
    public static func extract(images: [UInt8], count: Int, height: Int, width: Int, channels: Int, patchSize p: Int,
                               normalization: ImageNormalization) throws -> ExtractedFeatures {
        guard p > 0, height % p == 0, width % p == 0 else {
            throw EvaluationError.invalidInput("raw-pixel grid: image \(height)x\(width) is not divisible into \(p) px patches")
        }
        precondition(images.count == count * height * width * channels, "images: \(images.count) values for [\(count), \(height), \(width), \(channels)]")
        let planes = images.withUnsafeBufferPointer {
            normalization.channelsFirst($0, first: 0, count: count, height: height, width: width, channels: channels)
        }
        let gh = height / p, gw = width / p, d = channels * p * p
        var values = [Float](repeating: 0, count: count * gh * gw * d)
        for i in 0..<count {
            for gy in 0..<gh {
                for gx in 0..<gw {
                    let token = ((i * gh + gy) * gw + gx) * d
                    for c in 0..<channels {
                        for y in 0..<p {
                            for x in 0..<p {
                                values[token + (c * p + y) * p + x] =
                                    planes[((i * channels + c) * height + gy * p + y) * width + gx * p + x]
                            }
                        }
                    }
                }
            }
        }
        return ExtractedFeatures(values: values, shape: [count, gh, gw, d])
    }
}
