import Foundation
import TensorCore

/// The textured dense scenes (`make-default --scenes textured`; the default until the mosaic
/// replaced it, kept as a harder variant). A 96 x 72 scene has a background of two random
/// colour gratings per channel plus uniform noise, and 1–4 items (5% of scenes have none): a
/// Fashion-MNIST image scaled by 1..2 (Pillow bilinear), tinted a random colour and shaded where
/// its gray value exceeds the threshold, placed anywhere it stays at least one quarter visible;
/// later items occlude earlier ones. 10% of the items are crowd regions.
///
/// Why it is no longer the default: the encoders only ever see grey items on black at 32 px;
/// on these scenes every tiny encoder scored near the constant-class floor
/// (Documentation/evaluation.md, "Dense default scenes").
enum TexturedScene {
    static let width = 96
    static let height = 72
    static let crowdProbability = 0.1

    static func compose(items: IDXConverter.Images, labels: [UInt8], threshold: UInt8,
                        rng: inout RandomStream) -> DenseDefault.Scene {
        let w = width, h = height
        var background = [Float](repeating: 0, count: w * h * 3)
        for c in 0..<3 {
            let base = Float(rng.uniform(0.2, 0.8))
            var gratings: [(Float, Float, Float, Float)] = []
            for _ in 0..<2 {
                gratings.append((Float(rng.uniform(-0.35, 0.35)), Float(rng.uniform(-0.35, 0.35)),
                                 Float(rng.uniform(0, 2 * Double.pi)), Float(rng.uniform(0.05, 0.2))))
            }
            for y in 0..<h {
                for x in 0..<w {
                    var value = base
                    for (fx, fy, phase, amplitude) in gratings { value += amplitude * sin(fx * Float(x) + fy * Float(y) + phase) }
                    background[(y * w + x) * 3 + c] = value
                }
            }
        }
        var pixels = background.map { value -> UInt8 in UInt8(clamping: Int((min(max(value, 0), 1) * 255).rounded())) }
        for i in pixels.indices {
            let noise = rng.nextInt(below: 21) - 10
            pixels[i] = UInt8(clamping: Int(pixels[i]) + noise)
        }
        var owner = [Int](repeating: -1, count: w * h)
        let itemCount = rng.nextDouble() < 0.05 ? 0 : 1 + rng.nextInt(below: 4)
        var classes: [Int] = []
        for item in 0..<itemCount {
            let index = rng.nextInt(below: items.count)
            let side = Int((28 * rng.uniform(1.0, 2.0)).rounded())
            let scaled = ImageResize.bilinear(DenseDefault.item(items, index), height: side, width: side)
            let left = rng.nextInt(in: (-side / 4)...(w - 3 * side / 4))
            let top = rng.nextInt(in: (-side / 4)...(h - 3 * side / 4))
            let tint = (0..<3).map { _ in Float(rng.uniform(0.3, 1.0)) }
            classes.append(Int(labels[index]))
            for y in 0..<side {
                for x in 0..<side {
                    let value = scaled.pixels[y * side + x]
                    let sy = top + y, sx = left + x
                    guard value > threshold, sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                    let shade = 0.35 + 0.65 * Float(value) / 255
                    for c in 0..<3 { pixels[(sy * w + sx) * 3 + c] = UInt8((tint[c] * shade * 255).rounded()) }
                    owner[sy * w + sx] = item
                }
            }
        }
        let (semantic, instances) = DenseDefault.annotate(owner: owner, classes: classes, width: w, height: h,
                                                          crowdProbability: crowdProbability, rng: &rng)
        return DenseDefault.Scene(pixels: pixels, semantic: semantic, instances: instances)
    }
}
