import Foundation

/// The `--size` of the crop converters (ImageNet, COCO, ADE20K): shorter side resized to it,
/// then a centred size x size crop. Zero or negative sizes trap in the resizer, and huge ones
/// overflow the pack's byte counts, so every converter checks it first.
enum CropSize {
    /// Far above any benchmark resolution (64..224), small enough that N x size x size x 3 fits.
    static let maximum = 4096

    static func validate(_ size: Int, input: String) throws {
        guard (1...maximum).contains(size) else {
            throw DatasetError(input, "crop size \(size) must be between 1 and \(maximum) pixels")
        }
    }
}
