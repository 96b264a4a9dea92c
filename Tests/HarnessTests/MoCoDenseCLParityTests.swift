import Datasets
import Foundation
import Harness
import Layers
import Objectives
import Optim
import TensorCore
import Testing
import TestSupport

/// MoCo-v2 and DenseCL against the authors' code: Tests/ObjectivesTests/Fixtures/{mocov2,densecl}_tiny.pbfx,
/// written by Scripts/reference/make_moco_densecl_fixtures.py from WXinlong/DenseCL's own `MOCO`,
/// `DenseCL`, `NonLinearNeckV1`, `DenseCLNeck` and `ContrastiveHead`, the ResNet replaced by a timm
/// ViT that returns its normed patch tokens as a map. Two full steps through the harness's update:
/// loss and its terms, the correspondence, every gradient, the query encoder after AdamW, the key
/// encoder after its momentum update, both queues and their pointers (K = 8, B = 4: the pointer
/// wraps in step 2). Tolerances as the DINO parity test's.
///
/// The fixture's key encoder starts apart from the query encoder (`init.key.*`, noise of its own)
/// and m = 0.5 (PatchBench trains with 0.99), so the loss and every gradient already depend in step
/// 1 on which encoder computed the keys and on whether its update ran before the key forward;
/// a key encoder that started as a copy and m = 0.99 would hide both (key = query in step 1,
/// and a 1e-5 change per weight in step 2).
@Suite struct MoCoDenseCLParityTests {
    static let folder = HarnessFixtures.root + "/Tests/ObjectivesTests/Fixtures/"
    static let batch = 4

    static func encoder() -> ViTConfig {
        ViTConfig(imageSize: 16, patchSize: 4, dimension: 32, depth: 2, heads: 2, positionEmbedding: .learned, layerNormEps: 1e-6)
    }

    static func mocoConfig() -> MoCoV2.Config {
        var c = MoCoV2.Config()
        (c.hidden, c.outputs, c.queueSize, c.temperature, c.momentum) = (24, 16, 8, 0.2, 0.5)
        return c
    }

    static func views(_ fx: Fixture, step s: Int) throws -> TrainingBatch {
        TrainingBatch(views: try (0..<2).map { v in
            TrainingBatch.View(images: try fx.tensor("step\(s).view.\(v)"), geometry: (0..<batch).map { _ in
                CropGeometry(box: CropBox(top: 0, left: 0, height: 16, width: 16), flipped: false, outputSize: 16)
            })
        })
    }

    /// `noiseFloor`: DenseCL's gradient is a sum over B·S² dense rows that cancel more; an element of
    /// |g| = 3.1e-8 (1.3e-6 of its tensor's largest) differs by 2.4e-9 between the two
    /// implementations (1e-7 of the largest, as elsewhere), which Adam's first step turns into a
    /// 1.3e-5 difference of the weight. Such elements are left out as noise (1e-5 of the largest).
    func twoSteps(_ objective: Objective, fixture name: String, queues: [String], noiseFloor: Double = 1e-6) throws {
        let fx = try Fixture(path: Self.folder + name)
        let params = objective.namedParameters()
        try ParityChecks.loadInitial(params, from: fx)
        var state = objective.initialState()
        for queue in queues {   // the official random queue
            let index = try #require(state.tensors.firstIndex { $0.0 == queue })
            state.tensors[index].1 = try fx.tensor("init.\(queue)")
        }
        // The official key encoder, perturbed apart from the query encoder (it would start as its copy).
        var keyApart = 0.0
        for (name, p) in params {
            let index = try #require(state.tensors.firstIndex { $0.0 == "key.\(name)" })
            let key = p.detached().copy()   // PatchBench's shape (the fixture keeps the patch weight's [D, C, p, p])
            try ParityChecks.load([("key.\(name)", key)], from: fx, prefix: "init.")
            state.tensors[index].1 = key
            keyApart = max(keyApart, ParityChecks.absoluteError(key.floats, p.floats))
        }
        #expect(keyApart > 0.1, "the fixture's key encoder must start apart from the query encoder: \(keyApart)")
        let steps = 4
        let plan = OptimizerPlan(learningRate: [Double](repeating: 1e-3, count: steps), weightDecay: 0.05, batchSize: Self.batch,
                                 context: StepContext(step: 0, stepsPerEpoch: steps, totalSteps: steps))
        let groups = try Pretraining.resolve(objective.parameterGroups(plan), parameters: params, method: objective.methodName,
                                             totalSteps: steps)
        let adamw = AdamW(beta1: 0.9, beta2: 0.95, eps: 1e-8)
        var optimizer = adamw.initialState(for: params)
        var rng = RandomStream(seed: 1)
        for s in 1...2 {
            let context = StepContext(step: s - 1, stepsPerEpoch: steps, totalSteps: steps)
            for (_, p) in params { p.zeroGrad() }
            let out = objective.step(try Self.views(fx, step: s), context: context, state: state, rng: &rng)
            let loss = Double(try fx.values("step\(s).loss")[0])
            print("\(name) step \(s): loss \(out.loss.item) vs official \(loss); terms \(out.terms)")
            #expect(abs(out.loss.item - loss) < 1e-5 * max(1, abs(loss)), "step \(s) loss")
            let global = try #require(out.terms.first { $0.0 == "global" || $0.0 == "contrast" }).1
            #expect(abs(global - Double(try fx.values("step\(s).loss_global")[0])) < 1e-5, "step \(s) global term")
            if let dense = out.terms.first(where: { $0.0 == "dense" })?.1 {
                #expect(abs(dense - Double(try fx.values("step\(s).loss_dense")[0])) < 1e-5, "step \(s) dense term")
            }
            out.loss.backward()
            try ParityChecks.rawGradients(s, fixture: fx, parameters: params, label: name)
            optimizer = Pretraining.update(params, groups: groups, optimizer: optimizer, adamw: adamw, step: context.step)
            state = out.nextState()
            try ParityChecks.parametersAfterStep(s, fixture: fx, parameters: params, state: state, label: name,
                                                 names: ("grad", "query", "key"), noiseFloor: noiseFloor,
                                                 teacherReadsStudentBeforeStep: true)
            for queue in queues {
                #expect(ParityChecks.absoluteError(state[queue]!.floats, try fx.values("step\(s).\(queue)")) < 1e-6,
                        "step \(s) \(queue)")
                #expect(state["\(queue)_pointer"]!.floats == (try fx.values("step\(s).\(queue)_pointer")), "step \(s) \(queue) pointer")
            }
        }
        #expect(state["queue_pointer"]!.floats == [0], "K = 8, B = 4: the pointer wrapped after 2 steps")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: folder + "mocov2_tiny.pbfx"), "mocov2_tiny.pbfx missing"))
    func mocoTwoStepsMatchTheOfficialCode() throws {
        var rng = RandomStream(seed: 0)
        try twoSteps(MoCoV2(encoder: Self.encoder(), config: Self.mocoConfig(), rng: &rng), fixture: "mocov2_tiny.pbfx",
                     queues: ["queue"])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: folder + "densecl_tiny.pbfx"), "densecl_tiny.pbfx missing"))
    func denseCLTwoStepsMatchTheOfficialCode() throws {
        var config = DenseCL.Config()
        config.moco = Self.mocoConfig()
        var rng = RandomStream(seed: 0)
        let densecl = DenseCL(encoder: Self.encoder(), config: config, rng: &rng)
        // The correspondence of each step, on the encoders that step's forward used: the query
        // encoder before the step (init, then after step 1's AdamW) on view 0, the key encoder after
        // the step's momentum update (`step<s>.key.*`: the update runs first) on view 1.
        let fx = try Fixture(path: Self.folder + "densecl_tiny.pbfx")
        for s in 1...2 {
            try ParityChecks.load(densecl.namedParameters(), from: fx, prefix: s == 1 ? "init." : "step\(s - 1).query.")
            try ParityChecks.load(densecl.keyEncoder.namedParameters(prefix: "backbone"), from: fx, prefix: "step\(s).key.")
            let batch = try Self.views(fx, step: s)
            let (matches, queryEncoderMatches) = Tensor.withoutGrad {
                let queryTokens = MomentumContrast.patchTokens(densecl.encoder, batch.views[0].images)
                return (DenseCL.correspondence(queryTokens: queryTokens,
                                               keyTokens: MomentumContrast.patchTokens(densecl.keyEncoder, batch.views[1].images)),
                        DenseCL.correspondence(queryTokens: queryTokens,
                                               keyTokens: MomentumContrast.patchTokens(densecl.encoder, batch.views[1].images)))
            }
            let official = try fx.values("step\(s).matches")
            #expect(matches.flatMap { $0 }.map(Float.init) == official, "step \(s) correspondence \(matches) vs \(official)")
            // The fixture tells the key encoder's tokens from the query encoder's.
            let differ = zip(queryEncoderMatches.flatMap { $0 }.map(Float.init), official).filter { $0 != $1 }.count
            print("densecl step \(s): \(differ) of \(official.count) matches differ on the query encoder's key-view tokens")
            #expect(differ > 0, "step \(s): the query encoder's tokens give the official matches too")
        }
        try twoSteps(densecl, fixture: "densecl_tiny.pbfx", queues: ["queue", "queue2"], noiseFloor: 1e-5)
    }
}
