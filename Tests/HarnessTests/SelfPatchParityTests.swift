import Datasets
import Foundation
import Harness
import Layers
import Objectives
import Optim
import TensorCore
import Testing
import TestSupport

/// SelfPatch against the authors' code: Tests/ObjectivesTests/Fixtures/selfpatch_tiny.pbfx,
/// written by Scripts/reference/make_dino_selfpatch_fixtures.py from alinlab/SelfPatch's own
/// backbone, `SelfPatchHead`, `DINOHead`s, `DINOLoss` and `get_local_index` (patch 2, global crops
/// 28 px = 14×14 and local 12 px = 6×6, the two grids the official table supports). Two steps:
/// the neighbour tables, teacher positives, every output, the losses, raw and clipped gradients,
/// both centres, the student after AdamW and the teacher after the EMA. Tolerances as
/// `DINOParityTests`.
@Suite struct SelfPatchParityTests {
    static let fixture = HarnessFixtures.root + "/Tests/ObjectivesTests/Fixtures/selfpatch_tiny.pbfx"
    static let batch = 2

    static func model() -> SelfPatch {
        var encoder = ViTConfig(imageSize: 28, patchSize: 2, dimension: 32, depth: 2, heads: 2, clsToken: false,
                                positionEmbedding: .learned, layerNormEps: 1e-6)
        encoder.positionInterpolationOffset = 0.1
        encoder.finalNorm = false
        var config = SelfPatch.Config()
        (config.dino.outputs, config.dino.hidden, config.dino.bottleneck, config.patchOutputs) = (64, 48, 16, 32)
        (config.dino.warmupTeacherTemperature, config.dino.teacherTemperature) = (0.04, 0.07)
        config.dino.warmupTeacherTemperatureEpochs = 2
        config.dino.baseLearningRate = 1e-3 * 256 / Double(batch)
        (config.dino.minLearningRate, config.dino.warmupFraction, config.dino.dropPath) = (1e-5, 0, 0)
        (config.dino.localCrops, config.dino.localSize) = (2, 12)
        var rng = RandomStream(seed: 0)
        return SelfPatch(encoder: encoder, config: config, rng: &rng)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: fixture), "selfpatch_tiny.pbfx missing"))
    func neighbourTablesAreTheOfficialOnes() throws {
        let fx = try Fixture(path: Self.fixture)
        for g in [6, 14] {
            let official = try fx.values("neighbours.\(g)").map { Int($0) }
            #expect(SelfPatch.neighbourTable(grid: g).flatMap { $0 } == official, "grid \(g)")
        }
        // Defined for the grids the official code refuses: 8 distinct neighbours, a symmetric
        // relation, wrapping at the borders.
        for g in [8, 16] {
            let table = SelfPatch.neighbourTable(grid: g)
            #expect(table.allSatisfy { Set($0).count == 8 })
            for (i, row) in table.enumerated() { for j in row { #expect(table[j].contains(i)) } }
            #expect(table[0].contains(g * g - 1) && table[0].contains(g - 1), "corner 0 wraps to the far corner and edge")
        }
    }

    static func relativeError(_ a: [Float], _ b: [Float]) -> Double { ParityChecks.relativeError(a, b) }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: fixture), "selfpatch_tiny.pbfx missing"))
    func twoStepsMatchTheOfficialCode() throws {
        let fx = try Fixture(path: Self.fixture)
        let model = Self.model()
        let params = model.namedParameters()
        try ParityChecks.loadInitial(params, from: fx)
        let local = try fx.values("pos_embed_local")
        #expect(ParityChecks.absoluteError(model.encoder.patchPositions(grid: 6)!.floats, local) < 1e-6)

        var state = model.initialState()
        let plan = OptimizerPlan(learningRate: [Double](repeating: 0, count: 4), weightDecay: 0, batchSize: Self.batch,
                                 context: StepContext(step: 0, stepsPerEpoch: 1, totalSteps: 4))
        let groups = try Pretraining.resolve(model.parameterGroups(plan), parameters: params, method: "selfpatch", totalSteps: 4)
        // The constants a run uses (`Pretraining` reads them from the objective): torch's defaults.
        let constants = try #require(model.adam)
        #expect(constants == AdamSettings(beta1: 0.9, beta2: 0.999, eps: 1e-8))
        let adamw = AdamW(beta1: constants.beta1, beta2: constants.beta2, eps: constants.eps)
        var optimizer = adamw.initialState(for: params)
        var rng = RandomStream(seed: 1)
        for s in 1...2 {
            let context = StepContext(step: s - 1, stepsPerEpoch: 1, totalSteps: 4)
            let views = try (0..<4).map { v -> TrainingBatch.View in
                let images = try fx.tensor("step\(s).crop.\(v)")
                let size = images.shape[2]
                return TrainingBatch.View(images: images, geometry: (0..<Self.batch).map { _ in
                    CropGeometry(box: CropBox(top: 0, left: 0, height: size, width: size), flipped: false, outputSize: size)
                })
            }
            // Outputs beside the step: student and teacher per resolution.
            let teacher = Self.model()
            for (key, p) in teacher.namedParameters() {
                let v = state["teacher.\(key)"]!
                for i in 0..<p.count { p.storage[i] = v.storage[i] }
            }
            var none: RandomStream? = nil
            for (name, range) in [("global", 0..<2), ("local", 2..<4)] {
                let images = Tensor.concat(range.map { views[$0].images }, axis: 0)
                let st = Tensor.withoutGrad {
                    model.forward(images, backbone: model.encoder, head: model.aggregation, cls: model.clsHead,
                                  patch: model.patchHead, teacher: false, dropPathRNG: &none)
                }
                let te = Tensor.withoutGrad {
                    teacher.forward(images, backbone: teacher.encoder, head: teacher.aggregation, cls: teacher.clsHead,
                                    patch: teacher.patchHead, teacher: true, dropPathRNG: &none)
                }
                #expect(Self.relativeError(st.cls.floats, try fx.values("step\(s).student_output.\(name).cls")) < 1e-5, "\(s) \(name)")
                #expect(Self.relativeError(st.patches!.floats, try fx.values("step\(s).student_output.\(name).patch")) < 1e-5)
                #expect(Self.relativeError(te.cls.floats, try fx.values("step\(s).teacher_output.\(name).cls")) < 1e-5)
                #expect(Self.relativeError(te.patches!.floats, try fx.values("step\(s).teacher_output.\(name).patch")) < 1e-5,
                        "step \(s) \(name) teacher patches (aggregated neighbours)")
            }
            for (_, p) in params { p.zeroGrad() }
            let out = model.step(TrainingBatch(views: views), context: context, state: state, rng: &rng)
            let loss = Double(try fx.values("step\(s).loss")[0])
            print("SelfPatch step \(s): loss \(out.loss.item) vs official \(loss); terms \(out.terms)")
            #expect(abs(out.loss.item - loss) < 1e-5 * max(1, abs(loss)), "step \(s) loss")
            for (term, entry) in [("cls", "loss_cls"), ("patch", "loss_patch")] {
                let official = Double(try fx.values("step\(s).\(entry)")[0])
                #expect(abs(out.terms.first { $0.0 == term }!.1 - official) < 1e-5 * max(1, abs(official)), "step \(s) \(entry)")
            }
            out.loss.backward()
            try ParityChecks.rawGradients(s, fixture: fx, parameters: params, label: "SelfPatch")
            optimizer = Pretraining.update(params, groups: groups, optimizer: optimizer, adamw: adamw, step: context.step)
            state = out.nextState()
            #expect(Self.relativeError(state["center"]!.floats, try fx.values("step\(s).center")) < 1e-5, "step \(s) centre")
            #expect(Self.relativeError(state["patch_center"]!.floats, try fx.values("step\(s).patch_center")) < 1e-5)
            try ParityChecks.parametersAfterStep(s, fixture: fx, parameters: params, state: state, label: "SelfPatch")
        }
    }
}
