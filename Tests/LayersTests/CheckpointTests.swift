import Foundation
import Testing
import Checkpoint
import HDF5Kit
import Layers
import Optim
import TensorCore

/// Determinism, exact resumption and checkpoint error handling.
@Suite struct CheckpointTests {
    static let config = ViTConfig(imageSize: 16, patchSize: 4, dimension: 32, depth: 2, heads: 2, dropPath: 0.2)

    final class Run {
        let vit: VisionTransformer
        let head: Linear
        let params: [(String, Tensor)]
        let adamw = AdamW(beta1: 0.9, beta2: 0.95)
        var state: AdamW.State
        var streams: RandomStreams
        let images: Tensor
        let labels: [Int]

        init(seed: UInt64) {
            streams = RandomStreams(seed: seed)
            vit = VisionTransformer(CheckpointTests.config, rng: &streams.initialization)
            head = Linear(32, 4, rng: &streams.initialization)
            params = vit.namedParameters() + head.namedParameters(prefix: "head")
            state = adamw.initialState(for: params)
            var data = RandomStream(seed: 99)
            images = Tensor((0..<(8 * 3 * 16 * 16)).map { _ in data.nextNormal() }, shape: [8, 3, 16, 16])
            labels = (0..<8).map { _ in data.nextInt(below: 4) }
        }

        /// One step: a random half of the batch (data-order stream), drop-path (its stream).
        func step(_ schedule: CosineSchedule) {
            let order = streams.dataOrder.permutation(8)
            let rows = Array(order[..<4])
            let x = images.gatherRows(rows)
            let y = rows.map { labels[$0] }
            for (_, p) in params { p.zeroGrad() }
            var dp: RandomStream? = streams.dropPath
            let tokens = vit.encode(vit.prependCls(vit.embed(x)), dropPathRNG: &dp)
            streams.dropPath = dp!
            let loss = head(tokens.slice(axis: 1, 0..<1).reshaped([4, 32])).crossEntropy(labels: y)
            loss.backward()
            GradientClipping.clipGlobalNorm(params.map(\.1), maxNorm: 1)
            state = adamw.step(params, state: state, learningRate: schedule.value(at: state.step), weightDecay: 0.05)
        }

        /// FNV-1a over every parameter's bits (a mismatch prints two numbers, not two arrays).
        var digest: UInt64 {
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for (_, p) in params { for f in p.floats { h = (h ^ UInt64(f.bitPattern)) &* 0x0000_0100_0000_01B3 } }
            return h
        }
    }

    let schedule = CosineSchedule(base: 1e-3, final: 1e-5, totalSteps: 5, warmupSteps: 2)

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-ckpt-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    @Test func twoRunsWithOneSeedAreBitIdentical() {
        let a = Run(seed: 5), b = Run(seed: 5)
        for _ in 0..<5 { a.step(schedule); b.step(schedule) }
        #expect(a.digest == b.digest)
        let c = Run(seed: 6)
        for _ in 0..<5 { c.step(schedule) }
        #expect(a.digest != c.digest)
    }

    /// GEMMs are split into a fixed number of blocks and every other kernel computes each
    /// element in a fixed order, so the thread count does not change a single bit.
    @Test func oneAndTwoThreadsGiveIdenticalBits() {
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        BLAS.setThreads(1)
        let a = Run(seed: 8)
        for _ in 0..<3 { a.step(schedule) }
        BLAS.setThreads(2)
        let b = Run(seed: 8)
        for _ in 0..<3 { b.step(schedule) }
        #expect(a.digest == b.digest)
    }

    @Test func resumedRunEndsBitIdentical() throws {
        let path = temporaryPath("step2.h5")
        let full = Run(seed: 11)
        for _ in 0..<5 { full.step(schedule) }
        let first = Run(seed: 11)
        for _ in 0..<2 { first.step(schedule) }
        try Checkpoint.saveTraining(to: path, parameters: first.params, optimizer: first.state, streams: first.streams, patch: 4)
        // A fresh process would build the model from another seed and then load the file.
        let resumed = Run(seed: 12345)
        let (state, streams) = try Checkpoint.loadTraining(from: path, parameters: resumed.params, patch: 4)
        resumed.state = state
        resumed.streams = streams
        #expect(resumed.state.step == 2)
        for _ in 2..<5 { resumed.step(schedule) }
        #expect(resumed.digest == full.digest)
    }

    @Test func encoderRoundTripsWithTimmShapes() throws {
        let path = temporaryPath("encoder.h5")
        var rng = RandomStream(seed: 1)
        let vit = VisionTransformer(Self.config, rng: &rng)
        try Checkpoint.saveEncoder(vit, to: path)
        let file = try HDF5File(openingForReadAt: path)
        #expect(try file.shape(of: "patch_embed.proj.weight") == [32, 3, 4, 4])
        #expect(file.contains("blocks.1.attn.qkv.weight") && file.contains("norm.weight") && file.contains("cls_token"))
        file.close()
        let back = try Checkpoint.loadEncoder(from: path)
        #expect(back.config == vit.config)
        for ((k1, a), (k2, b)) in zip(vit.namedParameters(), back.namedParameters()) {
            #expect(k1 == k2 && a.floats == b.floats)
        }
    }

    @Test func badCheckpointsFailWithClearMessages() throws {
        let path = temporaryPath("encoder.h5")
        var rng = RandomStream(seed: 2)
        try Checkpoint.saveEncoder(VisionTransformer(Self.config, rng: &rng), to: path)
        // Shapes that do not match the model: the message names the key and both shapes.
        let other = VisionTransformer(ViTConfig(imageSize: 16, patchSize: 4, dimension: 16, depth: 2, heads: 2), rng: &rng)
        let file = try HDF5File(openingForReadAt: path)
        do {
            try Checkpoint.readParameters(file, into: other.namedParameters(), prefix: "", patch: 4)
            Issue.record("shape mismatch not detected")
        } catch {
            let text = "\(error)"
            #expect(text.contains("cls_token") && text.contains("[1, 1, 32]") && text.contains("[1, 1, 16]"), "\(text)")
        }
        file.close()
        // Truncated file.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = temporaryPath("truncated.h5")
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: (any Error).self) { _ = try Checkpoint.loadEncoder(from: truncated) }
        // A foreign HDF5 file (no PatchBench format attribute).
        let foreign = temporaryPath("foreign.h5")
        try HDF5File.writeAtomically(to: foreign) { try $0.write([Float(1)], shape: [1], to: "x") }
        do {
            _ = try Checkpoint.loadEncoder(from: foreign)
            Issue.record("foreign file accepted")
        } catch {
            #expect("\(error)".contains("not a PatchBench checkpoint"), "\(error)")
        }
    }
}
