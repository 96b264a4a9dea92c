import Foundation
import Layers
import Objectives
import Optim
import TensorCore
import Testing
import TestSupport

/// Relational Reasoning and Spatial Reasoning against the authors' code:
/// Tests/ObjectivesTests/Fixtures/{rr,sr}_tiny.pbfx, written by
/// Scripts/reference/make_rr_sr_fixtures.py from relationnet.py's and patchnet.py's own
/// `aggregate`, `patch_aggregate`, `relation_module` (with its BatchNorm1d in training mode),
/// `FocalLoss` / BCE + α·MSE and Adam, the ResNet replaced by a stand-in that returns the given
/// features. One step: loss (and SR's terms and 3-vector targets), the gradient of the features
/// and of every head tensor, the BN's running statistics, the head after Adam; and SR's
/// additive-mode targets and canvases, and its standard-mode targets and zoomed crops
/// (sr_standard.pbfx), for the code's own `patch_transform` on fixed draws.
@Suite struct RRSRParityTests {
    static let folder = HarnessFixtures.root + "/Tests/ObjectivesTests/Fixtures/"
    static let encoder = ViTConfig(imageSize: 16, patchSize: 4, dimension: 8, depth: 1, heads: 2, positionEmbedding: .sinCos)

    func loadHead(_ head: RelationHead, _ fx: Fixture) throws {
        for (key, p) in head.namedParameters() {
            let v = try fx.values("init." + key)
            try #require(v.count == p.count, "init.\(key)")
            for i in 0..<p.count { p.storage[i] = Double(v[i]) }
        }
    }

    /// Gradients (features and head) to 1e-5 of the largest official gradient; running statistics
    /// to 1e-6; the head after one Adam step (the authors' β, ε and lr) to 2e-6, leaving out
    /// elements whose official gradient is rounding noise (below 1e-6 of the largest: linear1's
    /// bias, whose true gradient is 0 because the BN removes it), where Adam's first step is ±lr
    /// of either sign in any two implementations.
    func compare(_ label: String, fx: Fixture, features: Tensor, head: RelationHead, state: ObjectiveState, adam: AdamSettings,
                 learningRate: Double) throws {
        let params = head.namedParameters()
        let official = try ["features"] .map { try fx.values("grad." + $0) } + params.map { try fx.values("grad." + $0.0) }
        let scale = Double(official.flatMap { $0 }.map { abs($0) }.max()!)
        var worst = 0.0
        for (name, (tensor, expected)) in zip(["features"] + params.map(\.0), zip([features] + params.map(\.1), official)) {
            let g = try #require(tensor.grad, "\(label): no gradient for \(name)")
            let error = ParityChecks.absoluteError((0..<g.count).map { Float(g[$0]) }, expected) / scale
            worst = max(worst, error)
            #expect(error < 1e-5, "\(label) gradient \(name): \(error) of the largest")
        }
        let keys = RelationHead.statisticsKeys("relation_module")
        let mean = try #require(state[keys.mean]), variance = try #require(state[keys.variance])
        let statsError = max(ParityChecks.absoluteError(mean.floats, try fx.values("running_mean")),
                             ParityChecks.absoluteError(variance.floats, try fx.values("running_var")))
        #expect(statsError < 1e-6, "\(label) running statistics: \(statsError)")
        let adamw = AdamW(beta1: adam.beta1, beta2: adam.beta2, eps: adam.eps)
        _ = adamw.step(params, state: adamw.initialState(for: params), groups: [(Array(params.indices), learningRate, 0)])
        var after = 0.0, left = 0
        for (i, (key, p)) in params.enumerated() {
            let expected = try fx.values("after." + key), now = p.floats
            for j in 0..<p.count {
                if Double(abs(official[i + 1][j])) < 1e-6 * scale { left += 1; continue }
                after = max(after, abs(Double(now[j]) - Double(expected[j])))
            }
        }
        #expect(after < 2e-6, "\(label) head after Adam: \(after)")
        print("\(label): worst gradient error \(worst) of the largest, running statistics \(statsError), head after Adam \(after) "
              + "(\(left) noise elements left out)")
    }

    @Test func relationalReasoningMatchesTheAuthorsCode() throws {
        let fx = try Fixture(path: Self.folder + "rr_tiny.pbfx")
        var rng = RandomStream(seed: 1)
        let rr = RelationalReasoning(encoder: Self.encoder, rng: &rng)
        #expect(rr.config.views == 4 && rr.config.hidden == 256 && rr.config.focalGamma == 2 && rr.config.focalAlpha == 0.5)
        try loadHead(rr.head, fx)
        let features = try fx.tensor("features")
        features.setRequiresGrad(true)
        let out = rr.relationLoss(features: features, views: 4, state: rr.initialState())
        out.loss.backward()
        let loss = Double(try fx.values("loss")[0])
        #expect(abs(out.loss.item - loss) / loss < 1e-5, "RR loss \(out.loss.item) vs \(loss)")
        print("RR loss \(out.loss.item) vs official \(loss)")
        try compare("RR", fx: fx, features: features, head: rr.head, state: out.state, adam: try #require(rr.adam),
                    learningRate: rr.config.learningRate)
    }

    @Test func spatialReasoningMatchesTheAuthorsCode() throws {
        let fx = try Fixture(path: Self.folder + "sr_tiny.pbfx")
        let (k, p, b) = (3, 3, 4)
        var rng = RandomStream(seed: 1)
        var config = SpatialReasoning.Config()
        (config.views, config.patches, config.patchSize) = (k, p, 2)
        let sr = SpatialReasoning(encoder: Self.encoder, config: config, rng: &rng)
        try loadHead(sr.head, fx)
        // The code's targets for its fixed draws are PatchBench's formula (side 64, ps 24).
        let positions = try fx.values("positions").map { Int($0) }, canvas = try fx.values("canvas_positions").map { Int($0) }
        let placements = (0..<b).map { s in
            (0..<p).map { q in
                PatchPlacement(row: positions[s * 2 * p + 2 * q], column: positions[s * 2 * p + 2 * q + 1],
                               canvasRow: canvas[(s * p + q) * 2], canvasColumn: canvas[(s * p + q) * 2 + 1])
            }
        }
        let targets = SpatialReasoning.targets(placements, side: 64, patchSize: 24)
        let official = try fx.values("patch_targets")   // [P, B, 3]
        let expected = (0..<(p * b)).flatMap { [official[$0 * 3], official[$0 * 3 + 1]] }
        #expect(ParityChecks.absoluteError(targets.floats, expected) < 1e-7, "targets")
        #expect((0..<(p * b)).allSatisfy { official[$0 * 3 + 2] == 0 })
        for s in 0..<b {
            let pos = Array(positions[(s * 2 * p)..<((s + 1) * 2 * p)])
            #expect(!SpatialReasoning.overlaps(pos, patchSize: 24, rule: .code) && !SpatialReasoning.overlaps(pos, patchSize: 24, rule: .pairwise))
        }
        // The canvases of sample 0: the code's from the raw image are PatchBench's.
        let image = try fx.tensor("image").reshaped([1, 3, 64, 64])
        let canvases = SpatialReasoning.canvases([Tensor](repeating: image, count: p), placements: [placements[0]], patchSize: 24)
        #expect(canvases.floats == (try fx.values("canvases")), "canvases differ")
        // Loss, targets and gradients on the given features.
        let features = try fx.tensor("features")
        features.setRequiresGrad(true)
        let out = sr.spatialLoss(imageFeatures: features.slice(axis: 0, 0..<(k * b)), views: k,
                                 patchFeatures: features.slice(axis: 0, (k * b)..<((k + p) * b)), patchTargets: targets,
                                 state: sr.initialState())
        out.loss.backward()
        let y = SpatialReasoning.pairTargets(imagePairs: RelationPairs(views: k, batch: b), patchPairs: RelationPairs(views: p, batch: b),
                                             patchTargets: targets)
        #expect(ParityChecks.absoluteError(y.floats, try fx.values("labels")) < 1e-7, "3-vector targets")
        let (loss, ce, mse) = (Double(try fx.values("loss")[0]), Double(try fx.values("loss_ce")[0]), Double(try fx.values("loss_mse")[0]))
        #expect(abs(out.loss.item - loss) / loss < 1e-5 && abs(out.bce - ce) / ce < 1e-5 && abs(out.mse - mse) / mse < 1e-5,
                "SR loss \(out.loss.item) (\(out.bce), \(out.mse)) vs \(loss) (\(ce), \(mse))")
        print("SR loss \(out.loss.item) (bce \(out.bce), mse \(out.mse)) vs official \(loss) (\(ce), \(mse))")
        try compare("SR", fx: fx, features: features, head: sr.head, state: out.state, adam: try #require(sr.adam),
                    learningRate: sr.config.learningRate)
    }

    /// Standard mode: the code resizes the uint8 image to 170 × 170 with PIL's bilinear filter,
    /// cuts 64 × 64 at its fixed positions and divides them by 128; PatchBench resizes the float
    /// image. The crops agree within PIL's rounding: it resamples in two 1-D passes and rounds to
    /// bytes after each, so a pixel may be off by up to one grey level; on average far less.
    @Test func spatialReasoningStandardModeMatchesTheAuthorsCode() throws {
        let fx = try Fixture(path: Self.folder + "sr_standard.pbfx")
        let (p, b, side, ps) = (3, 2, 64, 24)
        #expect(SpatialReasoning.zoomedSide(side: side, patchSize: ps) == 170)
        let positions = try fx.values("positions").map { Int($0) }
        let placements = (0..<b).map { s in
            (0..<p).map { q in
                PatchPlacement(row: positions[s * 2 * p + 2 * q], column: positions[s * 2 * p + 2 * q + 1], canvasRow: 0, canvasColumn: 0)
            }
        }
        let targets = SpatialReasoning.targets(placements, side: side, patchSize: ps, mode: .standard)
        let official = try fx.values("patch_targets")   // [P, B, 3]
        let expected = (0..<(p * b)).flatMap { [official[$0 * 3], official[$0 * 3 + 1]] }
        #expect(ParityChecks.absoluteError(targets.floats, expected) < 1e-7, "standard-mode targets (position / 128)")
        #expect(targets.floats != SpatialReasoning.targets(placements, side: side, patchSize: ps).floats)
        for s in 0..<b {
            let pos = Array(positions[(s * 2 * p)..<((s + 1) * 2 * p)])
            #expect(!SpatialReasoning.overlaps(pos, patchSize: side, rule: .code) && !SpatialReasoning.overlaps(pos, patchSize: side, rule: .pairwise))
        }
        let bytes = try fx.values("image_bytes")   // [B, 3, 64, 64], 0...255
        let images = Tensor(floats: bytes.map { $0 / 255 }, shape: [b, 3, side, side])
        let crops = SpatialReasoning.zoomedCrops([Tensor](repeating: images, count: p), placements: placements, patchSize: ps).floats
        let code = try fx.values("crops")   // [B, P, 3, 64, 64]; PatchBench's are patch-major [P·B, 3, 64, 64]
        let plane = 3 * side * side
        var largest: Float = 0, total: Float = 0
        for s in 0..<b {
            for q in 0..<p {
                let ours = crops[((q * b + s) * plane)..<((q * b + s + 1) * plane)]
                let theirs = code[((s * p + q) * plane)..<((s * p + q + 1) * plane)]
                let errors = zip(ours, theirs).map { abs($0 - $1) }
                largest = max(largest, errors.max()!)
                total += errors.reduce(0, +)
            }
        }
        let mean = total / Float(b * p * plane)
        print("SR standard mode: crops within \(largest * 255) grey levels of the code's, \(mean * 255) on average")
        #expect(largest <= 1.001 / 255, "standard-mode crops differ from the code's by \(largest * 255) grey levels")
        #expect(mean <= 0.4 / 255, "standard-mode crops differ from the code's by \(mean * 255) grey levels on average")
    }
}
