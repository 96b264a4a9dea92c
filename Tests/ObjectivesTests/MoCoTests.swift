import Datasets
import Foundation
import Layers
import Objectives
import TensorCore
import Testing

/// MoCo-v2's and DenseCL's state: the key encoder is never trained, the queue takes the current
/// batch's keys at its pointer and wraps, and the correspondence is the brute-force argmax.
@Suite struct MoCoTests {
    static func encoder() -> ViTConfig {
        ViTConfig(imageSize: 16, patchSize: 4, dimension: 16, depth: 1, heads: 2, positionEmbedding: .sinCos)
    }

    static func config(queue: Int = 8) -> MoCoV2.Config {
        var c = MoCoV2.Config()
        (c.hidden, c.outputs, c.queueSize) = (24, 8, queue)
        return c
    }

    static func batch(_ b: Int, seed: UInt64, flipSecond: Bool = false) -> TrainingBatch {
        var rng = RandomStream(seed: seed)
        return TrainingBatch(views: (0..<2).map { v in
            TrainingBatch.View(images: Tensor((0..<(b * 3 * 16 * 16)).map { _ in rng.nextNormal() }, shape: [b, 3, 16, 16]),
                               geometry: (0..<b).map { _ in
                                   CropGeometry(box: CropBox(top: 0, left: 0, height: 16, width: 16), flipped: flipSecond && v == 1,
                                                outputSize: 16)
                               })
        })
    }

    static let context = StepContext(step: 0, stepsPerEpoch: 10, totalSteps: 10)

    @Test func theKeyEncoderGetsNoGradientAndTheStateIsNotChanged() {
        var config = DenseCL.Config()
        config.moco = Self.config()
        var rng = RandomStream(seed: 3)
        let densecl = DenseCL(encoder: Self.encoder(), config: config, rng: &rng)
        let state = densecl.initialState()
        let before = state.tensors.map { $0.1.floats }
        var stream = RandomStream(seed: 1)
        let out = densecl.step(Self.batch(4, seed: 9), context: Self.context, state: state, rng: &stream)
        out.loss.backward()
        let key = densecl.keyEncoder.parameters + densecl.keyNeck.parameters + densecl.keyDenseNeck.parameters
        #expect(!key.isEmpty && key.allSatisfy { $0.grad == nil }, "a key-encoder tensor got a gradient")
        #expect(out.nextState().tensors.allSatisfy { $0.1.grad == nil })
        #expect(densecl.namedParameters().allSatisfy { $0.1.grad != nil }, "every query tensor trains")
        #expect(state.tensors.map { $0.1.floats } == before, "the step changed the state it was given")
    }

    @Test func theQueueTakesTheCurrentKeysAtItsPointerAndWraps() {
        var rng = RandomStream(seed: 4)
        let moco = MoCoV2(encoder: Self.encoder(), config: Self.config(queue: 8), rng: &rng)
        var state = moco.initialState()
        var stream = RandomStream(seed: 1)
        for (s, seed) in [(0, UInt64(11)), (1, 12), (2, 13)] {
            let batch = Self.batch(4, seed: seed)
            let (queue, pointer) = MomentumContrast.queue("queue", in: state)
            // The keys this step must enqueue: the key encoder after its momentum update, on view 2.
            let key = MomentumContrast.updatedKey(state, query: moco.namedParameters(), momentum: moco.config.momentum)
            let expected = moco.keys(batch.views[1].images, keyEncoder: key).floats
            state = moco.step(batch, context: StepContext(step: s, stepsPerEpoch: 10, totalSteps: 10), state: state,
                              rng: &stream).nextState()
            let (next, nextPointer) = MomentumContrast.queue("queue", in: state)
            #expect(nextPointer == (pointer + 4) % 8)
            let rows = next.floats, old = queue.floats
            #expect(Array(rows[(pointer * 8)..<((pointer + 4) * 8)]) == expected, "step \(s): enqueued rows are not this batch's keys")
            let untouched = (0..<8).filter { $0 < pointer || $0 >= pointer + 4 }
            #expect(untouched.allSatisfy { r in rows[(r * 8)..<((r + 1) * 8)] == old[(r * 8)..<((r + 1) * 8)] })
        }
        #expect(MomentumContrast.queue("queue", in: state).pointer == 4, "0 → 4 → 0 (wrapped) → 4")
    }

    @Test func correspondenceIsTheBruteForceArgmax() {
        var rng = RandomStream(seed: 5)
        let (b, n, d) = (3, 9, 5)
        let q = Tensor((0..<(b * n * d)).map { _ in rng.nextNormal() }, shape: [b, n, d])
        let k = Tensor((0..<(b * n * d)).map { _ in rng.nextNormal() }, shape: [b, n, d])
        let (qv, kv) = (q.floats.map(Double.init), k.floats.map(Double.init))
        func cosine(_ s: Int, _ i: Int, _ j: Int) -> Double {
            var dot = 0.0, a = 0.0, c = 0.0
            for x in 0..<d {
                let u = qv[(s * n + i) * d + x], v = kv[(s * n + j) * d + x]
                dot += u * v; a += u * u; c += v * v
            }
            return dot / (a.squareRoot() * c.squareRoot())
        }
        let brute = (0..<b).map { s in (0..<n).map { i in (0..<n).max { cosine(s, i, $0) < cosine(s, i, $1) }! } }
        #expect(DenseCL.correspondence(queryTokens: q, keyTokens: k) == brute)
        // Identical views: every token is its own best match.
        #expect(DenseCL.correspondence(queryTokens: q, keyTokens: q) == (0..<b).map { _ in Array(0..<n) })
    }

    @Test func overlapDiagnosticFollowsTheCropGeometry() {
        let same = CropGeometry(box: CropBox(top: 0, left: 0, height: 16, width: 16), flipped: false, outputSize: 16)
        let flipped = CropGeometry(box: same.box, flipped: true, outputSize: 16)
        let identity = [Array(0..<16)]
        #expect(DenseCL.matchDiagnostics(identity, query: [same], key: [same], grid: 4) == (1, 1))
        // Flipped key view: the same index shows the mirrored column, never the same area (grid 4).
        #expect(DenseCL.matchDiagnostics(identity, query: [same], key: [flipped], grid: 4).overlapping == 0)
        let mirrored = [(0..<16).map { ($0 / 4) * 4 + 3 - $0 % 4 }]
        #expect(DenseCL.matchDiagnostics(mirrored, query: [same], key: [flipped], grid: 4) == (0, 1))
        // Disjoint crops of a 32 px source: nothing overlaps.
        let left = CropGeometry(box: CropBox(top: 0, left: 0, height: 16, width: 16), flipped: false, outputSize: 16)
        let right = CropGeometry(box: CropBox(top: 0, left: 16, height: 16, width: 16), flipped: false, outputSize: 16)
        #expect(DenseCL.matchDiagnostics(identity, query: [left], key: [right], grid: 4).overlapping == 0)
    }

    @Test func lambdaWarmUpIsZeroBeforeItsStep() {
        var config = DenseCL.Config()
        config.moco = Self.config()
        config.denseWarmupSteps = 3
        var rng = RandomStream(seed: 6)
        let densecl = DenseCL(encoder: Self.encoder(), config: config, rng: &rng)
        #expect((0..<5).map { densecl.denseWeight(StepContext(step: $0, stepsPerEpoch: 5, totalSteps: 5)) } == [0, 0, 0, 0.5, 0.5])
    }
}
