import Testing
import Layers
import TensorCore

/// The patch embedding starts as its authors' code leaves it: MAE's `initialize_weights` re-draws
/// only the weight (Xavier-uniform on the flattened [D, C·p²] view) and keeps the Conv2d's default
/// bias U(±1/√(C·p²)); timm's `_init_weights` (DINO) keeps the whole Conv2d default.
@Suite struct PatchEmbedInitializationTests {
    static let (patch, channels, dimension) = (4, 3, 192)
    static var fanIn: Int { channels * patch * patch }

    @Test func maeKeepsTheConvolutionsDefaultBias() {
        var rng = RandomStream(seed: 5)
        let embed = PatchEmbed(patch: Self.patch, channels: Self.channels, dimension: Self.dimension, rng: &rng)
        let bias = embed.proj.bias!.doubles, weight = embed.proj.weight.doubles
        let biasBound = 1 / Double(Self.fanIn).squareRoot()
        let xavierBound = (6 / Double(Self.fanIn + Self.dimension)).squareRoot()
        #expect(bias.allSatisfy { abs($0) <= biasBound })
        // A zero bias (the earlier behaviour) or a narrower draw fails here: the largest of 192
        // draws from U(±b) is below 0.9·b with probability 0.95^192 ≈ 5e-5.
        #expect(bias.map(abs).max()! > 0.9 * biasBound)
        #expect(weight.allSatisfy { abs($0) <= xavierBound })
        #expect(weight.map(abs).max()! > 0.9 * xavierBound)
        // The bounds differ by over 5 %, so a bias drawn with the weight's bound (or the reverse) fails too.
        #expect(abs(xavierBound - biasBound) > 0.05 * biasBound)
    }

    @Test func timmKeepsTheWholeConvolutionDefault() {
        var rng = RandomStream(seed: 6)
        let embed = PatchEmbed(patch: Self.patch, channels: Self.channels, dimension: Self.dimension,
                               initialization: .truncatedNormal, rng: &rng)
        let bound = 1 / Double(Self.fanIn).squareRoot()
        for values in [embed.proj.weight.doubles, embed.proj.bias!.doubles] {
            #expect(values.allSatisfy { abs($0) <= bound })
            #expect(values.map(abs).max()! > 0.9 * bound)
        }
    }
}
