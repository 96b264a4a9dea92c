import Foundation
import TensorCore

/// The default dense scenes (`make-default --scenes mosaic`): Fashion-MNIST items in the look
/// the encoders are pretrained on (grey values replicated to 3 channels on a black background,
/// the 28 px item as the IDX converter pads it into a 32 px image), laid out in a 64 x 64 mosaic
/// of four 32 px cells, so the dense probes ask which item each token belongs to rather than
/// how the encoder copes with an unseen look.
///
/// A scene is, with probability `largeProbability`, one item scaled x2 (56 px, Pillow
/// bilinear) anywhere it fits whole: the zoom the pretraining's RandomResizedCrop (area 0.2–1,
/// so up to x2.2) also shows. Otherwise each cell independently holds nothing
/// (`emptyProbability`), a half-size item (14 px, anywhere in the cell: `smallProbability`) or
/// an item at x1 (28 px at the pretraining's 2 px offset jittered by up to ±2 px). Items never
/// leave their cell, so no two overlap. The three sizes put the boxes in the three
/// image-relative area bins of the det probe (`COCOParameters.imageRelative`: below a quarter
/// of the side, below half of it, larger). 5% of the items are crowd regions, so every default
/// reproduction still runs the COCO converter's RLE path.
enum MosaicScene {
    static let side = 64
    static let cell = 32
    static let largeProbability = 0.25
    static let emptyProbability = 0.2
    static let smallProbability = 0.2
    static let crowdProbability = 0.05

    /// Side of a placed item in pixels.
    enum Size: Int { case small = 14, normal = 28, large = 56 }

    static func compose(items: IDXConverter.Images, labels: [UInt8], threshold: UInt8,
                        rng: inout RandomStream) -> DenseDefault.Scene {
        var placements: [(index: Int, size: Size, left: Int, top: Int)] = []
        if rng.nextDouble() < largeProbability {
            let slack = side - Size.large.rawValue
            placements.append((rng.nextInt(below: items.count), .large, rng.nextInt(in: 0...slack), rng.nextInt(in: 0...slack)))
        } else {
            for cellIndex in 0..<4 {
                let cellLeft = (cellIndex % 2) * cell, cellTop = (cellIndex / 2) * cell
                let draw = rng.nextDouble()
                if draw < emptyProbability { continue }
                if draw < emptyProbability + smallProbability {
                    let slack = cell - Size.small.rawValue
                    placements.append((rng.nextInt(below: items.count), .small,
                                       cellLeft + rng.nextInt(in: 0...slack), cellTop + rng.nextInt(in: 0...slack)))
                } else {
                    let pad = (cell - Size.normal.rawValue) / 2
                    placements.append((rng.nextInt(below: items.count), .normal,
                                       cellLeft + pad + rng.nextInt(in: -pad...pad), cellTop + pad + rng.nextInt(in: -pad...pad)))
                }
            }
        }
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        var owner = [Int](repeating: -1, count: side * side)
        var classes: [Int] = []
        for (item, placement) in placements.enumerated() {
            let size = placement.size.rawValue
            let image = ImageResize.bilinear(DenseDefault.item(items, placement.index), height: size, width: size)
            classes.append(Int(labels[placement.index]))
            for y in 0..<size {
                for x in 0..<size {
                    let value = image.pixels[y * size + x]
                    let p = (placement.top + y) * side + placement.left + x
                    for c in 0..<3 { pixels[p * 3 + c] = value }
                    if value > threshold { owner[p] = item }
                }
            }
        }
        let (semantic, instances) = DenseDefault.annotate(owner: owner, classes: classes, width: side, height: side,
                                                          crowdProbability: crowdProbability, rng: &rng)
        return DenseDefault.Scene(pixels: pixels, semantic: semantic, instances: instances)
    }
}
