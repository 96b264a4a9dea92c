import Layers
import Objectives
import TensorCore
import Testing
import TestSupport

/// MAE and LoMaR against the authors' official models (Scripts/reference/make_mae_lomar_fixtures.py
/// imports facebookresearch/mae models_mae.py and junchen14/LoMaR models_lomar.py with its iRPE): the
/// loss and every parameter gradient on tiny configs with fixed weights, masks and windows.
@Suite struct ObjectiveParityTests {
    static let maeEncoder = ViTConfig(imageSize: 16, patchSize: 4, dimension: 32, depth: 2, heads: 2,
                                      positionEmbedding: .sinCos)
    static let lomarEncoder = ViTConfig(imageSize: 24, patchSize: 4, dimension: 32, depth: 2, heads: 2,
                                        positionEmbedding: .none)

    /// Loads the fixture's weights into `params` (the patch weight is stored [D, C, p, p]).
    func load(_ params: [(String, Tensor)], from fx: Fixture) throws {
        for (key, p) in params {
            let v = try fx.values("param." + key)
            #expect(v.count == p.count, "fixture \(key) has \(v.count) values, model \(p.count)")
            for i in 0..<p.count { p.storage[i] = Double(v[i]) }
        }
    }

    /// Compares every gradient with the fixture; returns the worst absolute error.
    func compareGradients(_ params: [(String, Tensor)], _ fx: Fixture, label: String) throws {
        var worst = 0.0, worstKey = ""
        for (key, p) in params {
            let expected = try fx.values("grad." + key).map(Double.init)
            let g = try #require(p.grad, "\(label): no gradient for \(key)")
            let got = (0..<g.count).map { g[$0] }
            let scale = max(expected.map(abs).max() ?? 0, 1e-3)
            let err = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            if err > worst { worst = err; worstKey = key }
            #expect(err <= 2e-4 * scale, "\(label) gradient \(key): max abs error \(err), largest |g| \(scale)")
        }
        print("\(label): worst gradient error \(worst) at \(worstKey)")
    }

    @Test func maeMatchesTheOfficialModel() throws {
        let fx = try Fixture(path: fixturePath("mae_tiny.pbfx"))
        var config = MAE.Config()
        config.decoderDimension = 24
        config.decoderDepth = 1
        config.decoderHeads = 2
        var rng = RandomStream(seed: 0)
        let mae = MAE(encoder: Self.maeEncoder, config: config, rng: &rng)
        try load(mae.namedParameters(), from: fx)
        let keep = try fx.tensor("keep"), drop = try fx.tensor("drop")
        let rows = { (t: Tensor) in (0..<t.shape[0]).map { b in (0..<t.shape[1]).map { Int(t.storage[b * t.shape[1] + $0]) } } }
        let mask = PatchMask(keep: rows(keep), drop: rows(drop), tokens: 16)
        let out = mae.loss(images: try fx.tensor("input"), mask: mask)
        let expected = Double(try fx.values("loss")[0])
        print("MAE loss \(out.loss.item) vs official \(expected)")
        #expect(abs(out.loss.item - expected) < 1e-5 * max(1, abs(expected)))
        out.loss.backward()
        try compareGradients(mae.namedParameters(), fx, label: "MAE")
    }

    /// The official forward pairs sequence row r with image r mod B and window r mod n_w
    /// (`window_assignment: official_code`); B = 3, n_w = 2 makes every pair occur.
    @Test func lomarMatchesTheOfficialModel() throws {
        let fx = try Fixture(path: fixturePath("lomar_tiny.pbfx"))
        var config = LoMaR.Config()
        config.windowSize = 3
        config.windowCount = 2
        config.windowAssignment = .officialCode
        config.buckets = .irpe
        var rng = RandomStream(seed: 0)
        let lomar = LoMaR(encoder: Self.lomarEncoder, config: config, rng: &rng)
        try load(lomar.namedParameters(), from: fx)
        // iRPE's own bucket tables (irpe.get_bucket_ids_2d), offsets up to 15.
        for grid in [3, 4, 8, 16] {
            #expect(RelativePositionBuckets.buckets(grid: grid) == (try fx.values("buckets.\(grid)")).map { Int($0) }, "grid \(grid)")
        }
        let removed = try fx.tensor("removed")
        let masks = (0..<removed.shape[0]).map { r in (0..<9).filter { removed.storage[r * 9 + $0] == 1 } }
        let windows = LoMaR.Windows(tops: try fx.values("tops").map { Int($0) }, lefts: try fx.values("lefts").map { Int($0) },
                                    removed: masks)
        let out = lomar.loss(images: try fx.tensor("input"), windows: windows)
        let expected = Double(try fx.values("loss")[0])
        print("LoMaR loss \(out.loss.item) vs official \(expected)")
        #expect(abs(out.loss.item - expected) < 1e-5 * max(1, abs(expected)))
        out.loss.backward()
        try compareGradients(lomar.namedParameters(), fx, label: "LoMaR")
        // iRPE's q/√d_h (what PatchBench did before this fixture; the arm lomar-scaled-q) misses it.
        config.rpeQuery = .scaled
        let scaled = LoMaR(encoder: Self.lomarEncoder, config: config, rng: &rng)
        try load(scaled.namedParameters(), from: fx)
        let scaledLoss = scaled.loss(images: try fx.tensor("input"), windows: windows).loss.item
        print("LoMaR loss with q/sqrt(d_h): \(scaledLoss)")
        #expect(abs(scaledLoss - expected) > 1e-3 * max(1, abs(expected)))
    }
}
