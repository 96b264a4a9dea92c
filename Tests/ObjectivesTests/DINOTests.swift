import Datasets
import Foundation
import Layers
import Objectives
import TensorCore
import Testing

/// DINO's step seam properties: the teacher gets no gradient, the state passed in is never
/// changed, the next state is the EMA and centre rule, and the schedules are the official ones.
@Suite struct DINOTests {
    static func model(seed: UInt64 = 3) -> DINO {
        var config = DINO.Config()
        (config.outputs, config.hidden, config.bottleneck) = (24, 20, 8)
        config.localSize = 8
        config.dropPath = 0.1
        var rng = RandomStream(seed: seed)
        return DINO(encoder: ViTConfig(imageSize: 16, patchSize: 4, dimension: 16, depth: 2, heads: 2), config: config, rng: &rng)
    }

    /// 2 global 16 px crops and 2 local 8 px crops of 3 images.
    static func batch(seed: UInt64 = 4) -> TrainingBatch {
        var rng = RandomStream(seed: seed)
        let box = CropBox(top: 0, left: 0, height: 16, width: 16)
        return TrainingBatch(views: [16, 16, 8, 8].map { size in
            TrainingBatch.View(images: Tensor((0..<(3 * 3 * size * size)).map { _ in rng.nextNormal() }, shape: [3, 3, size, size]),
                               geometry: (0..<3).map { _ in CropGeometry(box: box, flipped: false, outputSize: size) })
        })
    }

    static func bits(_ state: ObjectiveState) -> [[UInt32]] { state.tensors.map { $0.1.floats.map(\.bitPattern) } }

    @Test func teacherGetsNoGradientAndTheGivenStateIsNotChanged() {
        let dino = Self.model()
        let state = dino.initialState()
        // Make teacher ≠ student so the test can tell them apart.
        let perturbed = ObjectiveState(state.tensors.map { ($0.0, ($0.1 * 0.9).detached()) })
        let before = Self.bits(perturbed)
        var rng = RandomStream(seed: 9)
        let context = StepContext(step: 0, stepsPerEpoch: 10, totalSteps: 20)
        let out = dino.step(Self.batch(), context: context, state: perturbed, rng: &rng)
        out.loss.backward()
        #expect(out.loss.item.isFinite && out.loss.item > 0)
        #expect(perturbed.tensors.allSatisfy { $0.1.grad == nil }, "a state tensor received a gradient")
        #expect(dino.namedParameters().allSatisfy { $0.1.grad != nil }, "every student tensor gets a gradient")
        let next = out.nextState()
        #expect(Self.bits(perturbed) == before, "the step changed the state it was given")
        #expect(Self.bits(next) != before)
        #expect(next.tensors.map(\.0) == perturbed.tensors.map(\.0))
    }

    /// θ_t ← λθ_t + (1 − λ)θ_s with λ from the cosine at this step, and c ← 0.9c + 0.1·mean z_t.
    @Test func nextStateIsTheEMAAndTheCentreRule() {
        let dino = Self.model()
        let state = ObjectiveState(dino.initialState().tensors.map { ($0.0, ($0.1 * 0.5).detached()) })
        var rng = RandomStream(seed: 9)
        let context = StepContext(step: 3, stepsPerEpoch: 10, totalSteps: 20)
        let out = dino.step(Self.batch(), context: context, state: state, rng: &rng)
        let next = out.nextState()
        let lambda = 1 - (1 - 0.996) * (cos(Double.pi * 3 / 20) + 1) / 2
        #expect(abs(dino.teacherMomentum(context) - lambda) < 1e-15)
        for (key, student) in dino.namedParameters() {
            let t = state["teacher.\(key)"]!.floats, s = student.floats, n = next["teacher.\(key)"]!.floats
            for i in 0..<t.count {
                let expected = Double(t[i]) * lambda + Double(s[i]) * (1 - lambda)
                #expect(abs(Double(n[i]) - expected) <= 1e-6 * max(1, abs(expected)), "\(key)[\(i)]")
            }
        }
        // The centre: recompute the teacher's outputs on the two global crops.
        let teacher = Self.model()
        try? teacher.encoder.load(Dictionary(uniqueKeysWithValues: state.group("teacher.backbone")))
        try? teacher.head.load(Dictionary(uniqueKeysWithValues: state.group("teacher.head")))
        var none: RandomStream? = nil
        let batch = Self.batch()
        let z = Tensor.withoutGrad {
            teacher.forward(TrainingBatch(views: Array(batch.views[0..<2])), backbone: teacher.encoder, head: teacher.head, dropPathRNG: &none)
        }
        let mean = z.mean(axes: [0], keepDims: true).floats, c = state["center"]!.floats, nc = next["center"]!.floats
        for k in 0..<c.count {
            #expect(abs(Double(nc[k]) - (0.9 * Double(c[k]) + 0.1 * Double(mean[k]))) < 1e-6)
        }
    }

    /// utils.cosine_scheduler: np.linspace warm-up including its end point, then
    /// final + (base − final)(1 + cos(π i / n))/2 over the remaining n steps.
    @Test func schedulesAreTheOfficialOnes() {
        let values = DINO.cosineSchedule(base: 1, final: 0.2, totalSteps: 7, warmupSteps: 3, warmupStart: 0.1)
        let expected = [0.1, 0.55, 1.0] + (0..<4).map { 0.2 + 0.4 * (1 + cos(Double.pi * Double($0) / 4)) }
        #expect(values.count == 7)
        for (a, b) in zip(values, expected) { #expect(abs(a - b) < 1e-15) }
        var config = DINO.Config()
        (config.warmupTeacherTemperature, config.teacherTemperature, config.warmupTeacherTemperatureEpochs) = (0.04, 0.07, 4)
        var rng = RandomStream(seed: 1)
        let dino = DINO(encoder: ViTConfig(imageSize: 16, patchSize: 4, dimension: 16, depth: 1, heads: 2), config: config, rng: &rng)
        for (epoch, tau) in zip([0, 1, 2, 3, 4, 9], [0.04, 0.05, 0.06, 0.07, 0.07, 0.07]) {
            #expect(abs(dino.teacherTemperature(epoch: epoch) - tau) < 1e-15, "epoch \(epoch)")
        }
    }

    /// The last layer is its own group, frozen for the first epoch; weight decay follows the
    /// cosine on rank ≥ 2 tensors only; every group is clipped per tensor.
    @Test func parameterGroupsFollowMainDINO() {
        let dino = Self.model()
        let plan = OptimizerPlan(learningRate: [Double](repeating: 1, count: 20), weightDecay: 0.05, batchSize: 64,
                                 context: StepContext(step: 0, stepsPerEpoch: 5, totalSteps: 20))
        let groups = dino.parameterGroups(plan)
        let last = groups.first { $0.name == "last_layer" }!
        #expect(last.keys == ["head.last_layer.weight_v"] && last.frozenUntilStep == 5)
        #expect(groups.allSatisfy { $0.clipping == .perTensor(3) })
        let noDecay = groups.first { $0.name == "no_decay" }!
        #expect(noDecay.weightDecay.allSatisfy { $0 == 0 } && noDecay.keys.contains("backbone.cls_token") == false)
        let decay = groups.first { $0.name == "decay" }!
        #expect(abs(decay.weightDecay[0] - 0.04) < 1e-12 && decay.weightDecay[19] > 0.39)
        #expect(abs(decay.learningRate[2] - 5e-4 * 64 / 256) < 1e-12, "peak after the 2-step warm-up")
        #expect(Set(groups.flatMap(\.keys)) == Set(dino.namedParameters().map(\.0)))
    }
}

/// SelfPatch's structural rules.
@Suite struct SelfPatchTests {
    /// The student's patch outputs are LN of its own backbone tokens: no neighbour aggregation.
    @Test func studentPatchTokensAreNotAggregated() {
        var rng = RandomStream(seed: 5)
        let head = SelfPatchHead(dimension: 16, heads: 2, rng: &rng)
        let tokens = Tensor((0..<(2 * 36 * 16)).map { _ in rng.nextNormal() }, shape: [2, 36, 16])
        let out = Tensor.withoutGrad { head.student(tokens) }
        let patches = out.slice(axis: 1, 1..<37).floats
        let normed = Tensor.withoutGrad { head.norm(tokens) }.floats
        #expect(patches == normed)
        // The teacher's do aggregate: they differ from the plain norm.
        let teacher = Tensor.withoutGrad { head.teacher(tokens, grid: 6, k: 4) }.slice(axis: 1, 1..<37).floats
        #expect(teacher != normed)
    }
}
