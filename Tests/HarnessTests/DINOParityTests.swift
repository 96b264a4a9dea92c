import Datasets
import Foundation
import Harness
import Layers
import Objectives
import Optim
import TensorCore
import Testing
import TestSupport

/// DINO against the authors' code: Tests/ObjectivesTests/Fixtures/dino_tiny.pbfx, written by
/// Scripts/reference/make_dino_selfpatch_fixtures.py from facebookresearch/dino's own
/// `DINOLoss`, `DINOHead`, ViT, `cosine_scheduler`, `get_params_groups`, `clip_gradients` and
/// `cancel_gradients_last_layer`. Two full steps through the harness's own update
/// (`Pretraining.update`): outputs, loss, raw and clipped gradients, the centre, the student
/// after AdamW and the teacher after the EMA, and the local crops' interpolated positions.
///
/// Tolerances (float32 on both sides, different summation orders): outputs, loss, centre 1e-5
/// relative to the largest magnitude; gradients 2e-4 of the largest |g| of the tensor (as the
/// MAE/LoMaR parity tests); parameters after a step 2e-6 absolute (lr 1e-3: a 1e-3 relative
/// difference in an Adam direction moves a weight by 1e-6), noise gradients aside
/// (`ParityChecks.parametersAfterStep`).
@Suite struct DINOParityTests {
    static let fixture = HarnessFixtures.root + "/Tests/ObjectivesTests/Fixtures/dino_tiny.pbfx"
    static let batch = 3

    static func model() -> DINO {
        var encoder = ViTConfig(imageSize: 16, patchSize: 4, dimension: 32, depth: 2, heads: 2,
                                positionEmbedding: .learned, layerNormEps: 1e-6)
        encoder.positionInterpolationOffset = 0.1
        var config = DINO.Config()
        (config.outputs, config.hidden, config.bottleneck) = (64, 48, 16)
        (config.warmupTeacherTemperature, config.teacherTemperature, config.warmupTeacherTemperatureEpochs) = (0.04, 0.07, 2)
        config.baseLearningRate = 1e-3 * 256 / Double(batch)   // the fixture's peak lr 1e-3 at batch 3
        (config.minLearningRate, config.warmupFraction) = (1e-5, 0)
        config.dropPath = 0
        (config.localCrops, config.localSize) = (2, 8)
        var rng = RandomStream(seed: 0)
        return DINO(encoder: encoder, config: config, rng: &rng)
    }

    static func relativeError(_ a: [Float], _ b: [Float]) -> Double { ParityChecks.relativeError(a, b) }
    static func absoluteError(_ a: [Float], _ b: [Float]) -> Double { ParityChecks.absoluteError(a, b) }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: fixture), "dino_tiny.pbfx missing"))
    func twoStepsMatchTheOfficialCode() throws {
        let fx = try Fixture(path: Self.fixture)
        let dino = Self.model()
        let params = dino.namedParameters()
        try ParityChecks.loadInitial(params, from: fx)
        // The official weight-norm gain is fixed to 1, which is what PatchBench's layer assumes.
        #expect(try fx.values("init.head.last_layer.weight_g").allSatisfy { $0 == 1 })

        // Local crops' positions: interpolate_pos_encoding's scale-factor rule.
        let local = try fx.values("pos_embed_local")
        let ours = dino.encoder.patchPositions(grid: 2)!.floats
        #expect(Self.absoluteError(ours, Array(local[32...])) < 1e-6, "interpolated position embedding")

        var state = dino.initialState()
        let plan = OptimizerPlan(learningRate: [Double](repeating: 0, count: 4), weightDecay: 0, batchSize: Self.batch,
                                 context: StepContext(step: 0, stepsPerEpoch: 1, totalSteps: 4))
        let groups = try Pretraining.resolve(dino.parameterGroups(plan), parameters: params, method: "dino", totalSteps: 4)
        // The constants a run uses (`Pretraining` reads them from the objective): torch's defaults.
        let constants = try #require(dino.adam)
        #expect(constants == AdamSettings(beta1: 0.9, beta2: 0.999, eps: 1e-8))
        let adamw = AdamW(beta1: constants.beta1, beta2: constants.beta2, eps: constants.eps)
        var optimizer = adamw.initialState(for: params)
        var rng = RandomStream(seed: 1)

        for s in 1...2 {
            let context = StepContext(step: s - 1, stepsPerEpoch: 1, totalSteps: 4)
            let decay = groups.first { $0.settings.name == "decay" }!.settings
            #expect(abs(decay.learningRate[s - 1] - Double(try fx.values("step\(s).lr")[0])) < 1e-9, "step \(s) lr")
            #expect(abs(decay.weightDecay[s - 1] - Double(try fx.values("step\(s).wd")[0])) < 1e-7, "step \(s) wd")
            #expect(abs(dino.teacherMomentum(context) - Double(try fx.values("step\(s).momentum")[0])) < 1e-7)
            #expect(abs(dino.teacherTemperature(epoch: context.epoch) - Double(try fx.values("step\(s).teacher_temp")[0])) < 1e-8)

            let views = try (0..<4).map { v -> TrainingBatch.View in
                let images = try fx.tensor("step\(s).crop.\(v)")
                let size = images.shape[2]
                return TrainingBatch.View(images: images, geometry: (0..<Self.batch).map { _ in
                    CropGeometry(box: CropBox(top: 0, left: 0, height: size, width: size), flipped: false, outputSize: size)
                })
            }
            let batch = TrainingBatch(views: views)
            // The outputs, computed beside the step from the same weights and state.
            var none: RandomStream? = nil
            let student = Tensor.withoutGrad { dino.forward(TrainingBatch(views: views), backbone: dino.encoder, head: dino.head, dropPathRNG: &none) }
            #expect(Self.relativeError(student.floats, try fx.values("step\(s).student_output")) < 1e-5, "step \(s) student output")
            let teacherModel = Self.model()
            try teacherModel.encoder.load(Dictionary(uniqueKeysWithValues: state.group("teacher.backbone")))
            try teacherModel.head.load(Dictionary(uniqueKeysWithValues: state.group("teacher.head")))
            let teacher = Tensor.withoutGrad {
                teacherModel.forward(TrainingBatch(views: Array(views[0..<2])), backbone: teacherModel.encoder, head: teacherModel.head, dropPathRNG: &none)
            }
            #expect(Self.relativeError(teacher.floats, try fx.values("step\(s).teacher_output")) < 1e-5, "step \(s) teacher output")

            for (_, p) in params { p.zeroGrad() }
            let out = dino.step(batch, context: context, state: state, rng: &rng)
            let loss = Double(try fx.values("step\(s).loss")[0])
            print("DINO step \(s): loss \(out.loss.item) vs official \(loss)")
            #expect(abs(out.loss.item - loss) < 1e-5 * max(1, abs(loss)), "step \(s) loss")
            out.loss.backward()
            try ParityChecks.rawGradients(s, fixture: fx, parameters: params, label: "DINO")
            optimizer = Pretraining.update(params, groups: groups, optimizer: optimizer, adamw: adamw, step: context.step)
            for (key, p) in params {
                let expected = try fx.values("step\(s).clipped_grad.\(key)")
                let got = p.grad.map { g in (0..<g.count).map { Float(g[$0]) } } ?? [Float](repeating: 0, count: p.count)
                #expect(Self.relativeError(got, expected) < 2e-4, "step \(s) clipped gradient \(key)")
            }
            state = out.nextState()
            #expect(Self.relativeError(state["center"]!.floats, try fx.values("step\(s).center")) < 1e-5, "step \(s) centre")
            try ParityChecks.parametersAfterStep(s, fixture: fx, parameters: params, state: state, label: "DINO")
        }
        #expect(optimizer.counts[params.firstIndex { $0.0 == "head.last_layer.weight_v" }!] == 1, "frozen in step 1")
    }
}
