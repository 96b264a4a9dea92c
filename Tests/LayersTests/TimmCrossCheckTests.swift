import Foundation
import Testing
import Checkpoint
import Layers
import TensorCore
import TestSupport

/// A PatchBench encoder checkpoint loaded into timm's VisionTransformer gives the same tokens
/// (Scripts/reference/timm_crosscheck.py). Skipped with a message when python3 lacks torch,
/// timm or h5py (`pip install torch==2.13.0 timm h5py`).
@Suite struct TimmCrossCheckTests {
    static let available: Bool = {
        let ok = pythonHas(["torch", "h5py", "numpy"]) && runProcess("/usr/bin/env", ["python3", "-c", "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('timm') else 1)"])?.status == 0
        if !ok { print("TimmCrossCheckTests skipped: python3 with torch, timm and h5py is not available") }
        return ok
    }()

    @Test(.enabled(if: TimmCrossCheckTests.available, "needs python3 with torch, timm and h5py"))
    func checkpointLoadsIntoTimm() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-timm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = RandomStream(seed: 21)
        let vit = VisionTransformer(ViTConfig(imageSize: 16, patchSize: 4, dimension: 32, depth: 2, heads: 2), rng: &rng)
        // Perturb norms so the check is not blind to LayerNorm weights.
        for (k, p) in vit.namedParameters() where k.contains("norm") { for i in 0..<p.count { p.storage[i] += rng.nextNormal() * 0.1 } }
        let encoder = dir.appendingPathComponent("encoder.h5").path
        try Checkpoint.saveEncoder(vit, to: encoder)
        let x = Tensor((0..<(2 * 3 * 16 * 16)).map { _ in rng.nextNormal() }, shape: [2, 3, 16, 16])
        let tokens = Tensor.withoutGrad { vit(x) }
        let input = dir.appendingPathComponent("input.pbfx").path, feats = dir.appendingPathComponent("tokens.pbfx").path
        try Fixture.write([("input", x)], to: input)
        try Fixture.write([("tokens", tokens)], to: feats)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Scripts/reference/timm_crosscheck.py").standardized.path
        let r = try #require(runProcess("/usr/bin/env", ["python3", script, encoder, input, feats]))
        print(r.output)
        #expect(r.status == 0, "timm cross-check failed: \(r.output)")
    }
}
