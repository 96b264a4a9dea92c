import Foundation
import Harness
import Objectives
import TensorCore
import Testing

/// Each RandSAC arm is what its claims compare: the serialization, the decoder, the token size
/// and the target, pinned per arm on the tiny budget (a swap of two arms' rules, a wrong K or a
/// skip mix on an ablation arm would otherwise pass every other test and silently change what
/// the claims in results/claims.json measure).
@Suite struct RandSACArmTests {
    typealias Rule = SerializationRule

    struct Expected {
        let rule: Rule
        /// Segments of one sample on the tiny 8 × 8 patch grid (the pixel arm: its 32 × 32 grid).
        let segments: Int
        var skipMix = false
        var tokenPatch = 4
        var normPixLoss = true
    }

    static func square(_ m: Int, _ p: Int = 1, _ order: Rule.Order = .random) -> Rule {
        Rule(segments: .square, squareSize: m, partitions: p, order: order)
    }

    static let expected: [String: Expected] = {
        var table: [String: Expected] = [
            "randsac": Expected(rule: square(2, 4), segments: 16, skipMix: true),
            "randsac-blob": Expected(rule: Rule(segments: .blob, blobCount: 11, partitions: 5, order: .random), segments: 11, skipMix: true),
            "randsac-vanilla-decoder": Expected(rule: square(2, 4), segments: 16),
            "randsac-pixel-raster": Expected(rule: square(1, 1, .raster), segments: 1024, tokenPatch: 1, normPixLoss: false),
            "randsac-patch-raster-raw-mse": Expected(rule: square(1, 1, .raster), segments: 64, normPixLoss: false),
            "randsac-patch-raster": Expected(rule: square(1, 1, .raster), segments: 64),
            "randsac-patch-random": Expected(rule: square(1), segments: 64),
            "randsac-square-random": Expected(rule: square(2), segments: 16),
            "randsac-square4-random": Expected(rule: square(4), segments: 4),
            "randsac-blob7to3-random": Expected(rule: Rule(segments: .blob, blobCount: 7, partitions: 3, order: .random), segments: 7),
            "randsac-blob16to4-random": Expected(rule: Rule(segments: .blob, blobCount: 16, partitions: 4, order: .random), segments: 16),
        ]
        for k in [3, 4, 5, 7, 9, 11, 16] {
            table["randsac-blob\(k)-random"] = Expected(rule: Rule(segments: .blob, blobCount: k, order: .random), segments: k)
        }
        for k in [3, 5, 7, 9, 11] {
            table["randsac-blob\(k)-shuffled"] = Expected(rule: Rule(segments: .shuffled, blobCount: k, order: .random), segments: k)
        }
        return table
    }()

    static func budget(_ name: String) throws -> Budget {
        try Budget.load(path: Budget.path(named: name, root: HarnessFixtures.root))
    }

    @Test func everyArmIsInTheTable() {
        let arms = Method.all.filter { $0.base == "randsac" }.map(\.name)
        #expect(Set(arms) == Set(Self.expected.keys), "arms without a row, or rows without an arm")
        #expect(arms.count == Self.expected.count)
    }

    @Test func everyArmResolvesToItsSerializationDecoderAndTarget() throws {
        let tiny = try Self.budget("tiny")
        for method in Method.all where method.base == "randsac" {
            let want = try #require(Self.expected[method.name])
            let resolved = try method.resolve(tiny)
            var rng = RandomStream(seed: 0)
            let model = try #require(resolved.makeObjective?(&rng) as? RandSAC, "\(method.name)")
            #expect(model.config.serialization == want.rule, "\(method.name): \(model.config.serialization)")
            #expect(model.config.skipMix == want.skipMix && (model.skipLogits != nil) == want.skipMix, "\(method.name): decoder")
            #expect(model.encoder.config.patchSize == want.tokenPatch, "\(method.name): token patch")
            #expect(model.config.normPixLoss == want.normPixLoss, "\(method.name): target")
            #expect(model.targetPatch == 4 && model.encoder.config.imageSize == 32)
            var stream = RandomStream(seed: 1)
            let sample = model.config.serialization.sample(grid: model.encoder.config.grid, rng: &stream)
            #expect(sample.segmentCount == want.segments, "\(method.name): \(sample.segmentCount) segments")
            #expect(method.ablation == !["randsac", "randsac-blob", "randsac-pixel-raster"].contains(method.name))
        }
    }

    /// The arms named for a segment count keep it on the paper budget's 14 × 14 grid (squares
    /// of 4 tokens a side, the last row and column 2 wide), and read the MAE decoder's size there.
    @Test func squareArmsKeepTheirSegmentCountOnThePaperGrid() throws {
        let paper = try Self.budget("paper")
        for (name, segments, partitions) in [("randsac", 16, 4), ("randsac-vanilla-decoder", 16, 4),
                                             ("randsac-square-random", 16, 1), ("randsac-square4-random", 4, 1)] {
            let resolved = try Method.named(name).resolve(paper)
            // The settings as recorded (building ViT-S and its decoder is not needed to read them).
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let config = try decoder.decode(RandSAC.Config.self, from: JSONEncoder().encode(try #require(resolved.settings)))
            #expect(resolved.encoder.grid == 14)
            var stream = RandomStream(seed: 2)
            let sample = config.serialization.sample(grid: 14, rng: &stream)
            #expect(sample.segmentCount == segments && config.serialization.partitions == partitions, "\(name)")
            #expect(config.decoderDimension == 512 && config.decoderDepth == 8 && config.decoderHeads == 16)
        }
    }
}
