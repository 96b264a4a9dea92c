import Foundation
import Layers
import Objectives
import TensorCore
import Testing
import TestSupport

/// RandSAC against a second, PyTorch implementation of the paper's text (no official code
/// exists): Tests/ObjectivesTests/Fixtures/randsac_{skip,vanilla}_tiny.pbfx, written by
/// Scripts/reference/make_randsac_fixture.py. That script gathers each sample's segments in
/// serialized order, drops the last from the encoder and the first from the decoder and builds
/// the masks over those shorter sequences, as the paper describes; PatchBench keeps the raster
/// layout and expresses the order in masks. Equal loss and gradients (three orders: four squares
/// in a fixed non-raster order, five unequal non-contiguous segments, one token per segment) show
/// the two layouts are the same objective. The script copies PatchBench's answers to what the
/// paper leaves open (the softmax skip mix without the embedding layer, LN_k(H^k) with the
/// skip mix's own norms and the encoder's final norm on the last block, one shared
/// decoder_embed, the unbiased-variance norm-pix target), so it does not check those.
/// Tolerances as the other parity tests'.
@Suite struct RandSACParityTests {
    static let folder = HarnessFixtures.root + "/Tests/ObjectivesTests/Fixtures/"

    @Test(arguments: [true, false])
    func lossAndEveryGradientMatchThePaperAsWritten(skipMix: Bool) throws {
        let fx = try Fixture(path: Self.folder + "randsac_\(skipMix ? "skip" : "vanilla")_tiny.pbfx")
        var encoder = ViTConfig(imageSize: 16, patchSize: 4, dimension: 16, depth: 2, heads: 2, positionEmbedding: .sinCos)
        encoder.clsToken = false
        var config = RandSAC.Config()
        (config.decoderDimension, config.decoderDepth, config.decoderHeads, config.skipMix) = (12, 2, 2, skipMix)
        var rng = RandomStream(seed: 1)
        let model = RandSAC(encoder: encoder, config: config, targetPatch: 4, rng: &rng)
        let params = model.namedParameters()
        try ParityChecks.loadInitial(params, from: fx)
        let ranks = try fx.values("rank")
        let orders = (0..<3).map { b in Serialization(grid: 4, rank: ranks[(b * 16)..<(b * 16 + 16)].map { Int($0) }) }
        #expect(orders.map(\.segmentCount) == [4, 5, 16])
        let out = model.loss(images: try fx.tensor("images"), serializations: orders)
        let official = Double(try fx.values("loss")[0])
        print("randsac (skip mix \(skipMix)): loss \(out.loss.item) vs PyTorch \(official)")
        #expect(abs(out.loss.item - official) < 1e-5 * max(1, abs(official)))
        out.loss.backward()
        try ParityChecks.rawGradients(1, fixture: fx, parameters: params, label: "randsac skip mix \(skipMix)")
    }
}
