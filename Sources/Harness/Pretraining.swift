import Checkpoint
import Datasets
import Foundation
import HDF5Kit
import SafeIO
import Layers
import Objectives
import Optim
import TensorCore

/// The pretraining loop: budget + method + seed + data → a complete run directory.
///
/// Determinism and resumption: weights come from the seed's init stream; batch (epoch e,
/// index i) is a pure function of the data-order and augmentation seeds (Datasets.Loader);
/// masks and windows come from the masks stream, which every checkpoint stores with the
/// parameters, AdamW moments and step. Restarting from `checkpoints/step-<n>.h5` therefore
/// continues the exact sequence an uninterrupted run computes, and ends bit-identical
/// (same thread count and BLAS core).
public struct Pretraining {
    public struct Options {
        public var method: Method
        public var budget: Budget
        public var seed: UInt64
        public var dataPath: String
        public var runPath: String
        public var threads: Int
        public var checkpointEvery: Int?
        public var progress: ProgressReporter.Mode
        /// Tests substitute an objective here (e.g. one that turns the loss non-finite).
        public var objectiveOverride: ((inout RandomStream) -> Objective)?

        public init(method: Method, budget: Budget, seed: UInt64, dataPath: String, runPath: String, threads: Int,
                    checkpointEvery: Int? = nil, progress: ProgressReporter.Mode = .auto) {
            self.method = method
            self.budget = budget
            self.seed = seed
            self.dataPath = dataPath
            self.runPath = runPath
            self.threads = threads
            self.checkpointEvery = checkpointEvery
            self.progress = progress
        }
    }

    public enum Outcome: Equatable, Sendable {
        case completed(resumedFrom: Int?)
        case alreadyComplete
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public func run() throws -> Outcome {
        let o = options, budget = o.budget
        BLAS.setThreads(o.threads)
        let dir = RunDirectory(path: o.runPath)
        let resolved = try o.method.resolve(budget)
        let config = ResolvedConfig(method: o.method, resolved: resolved, budget: budget, dataPath: o.dataPath)
        let hash = config.hash
        if let status = try dir.existingStatus(), status.configHash == hash, status.completed { return .alreadyComplete }
        // One writer per run directory, for the whole run; the status is read again under the lock.
        let lock = try dir.createAndLock()
        defer { lock.release() }
        if let why = lock.unsupported {
            FileHandle.standardError.write(Data("warning: \(why); nothing stops a second pretrain into \(dir.path)\n".utf8))
        }
        if let status = try dir.existingStatus() {
            guard status.configHash == hash else {
                throw HarnessError("\(dir.runJSON): the run directory holds config_hash \(status.configHash), this run's is "
                                   + "\(hash); choose another --out or remove the directory")
            }
            if status.completed { return .alreadyComplete }
        }
        let checkpointEvery = o.checkpointEvery ?? budget.checkpointEvery
        guard checkpointEvery > 0 else { throw HarnessError("checkpoint frequency must be positive") }

        let pack: Pack
        do { pack = try Pack(openingAt: o.dataPath) } catch { throw HarnessError("\(o.dataPath): cannot open the pack: \(error)") }
        let dataset = RunManifest.DatasetInfo(path: o.dataPath, name: ((o.dataPath as NSString).lastPathComponent as NSString)
                                                .deletingPathExtension, digest: pack.storedDigest)
        let split = try pack.split(budget.data.split)
        guard split.channels == budget.encoder.channels else {
            throw HarnessError("\(o.dataPath): split '\(split.name)' has \(split.channels) channels, the budget wants \(budget.encoder.channels)")
        }
        var adamConstants: AdamSettings? = nil
        func manifest(completed: Bool, wall: Double, steps: Int, flops: Double, segments: [Provenance.Segment]? = nil) -> RunManifest {
            var provenance = Provenance.current(threads: o.threads, wallSeconds: wall, imagesSeen: steps * budget.batchSize,
                                                encoderFlops: flops)
            provenance.segments = segments
            return RunManifest(method: o.method.name, budget: budget.name, seed: Int(o.seed), config: config, configHash: hash,
                               dataset: dataset, provenance: provenance,
                               checkpointEvery: checkpointEvery, completed: completed, adam: adamConstants)
        }

        var streams = RandomStreams(seed: o.seed)
        let start = Date()
        guard let objective = o.objectiveOverride?(&streams.initialization)
                ?? resolved.makeObjective?(&streams.initialization) else {
            if let reference = o.method.encoderless {
                // A reference row without an encoder: a marker, so every run ends in encoder.h5.
                try Checkpoint.saveReferenceMarker(row: reference.name, to: dir.encoder, attributes: ["method": o.method.name])
            } else {
                // random-init: the encoder from the init stream, saved untrained.
                var rng = streams.initialization
                let encoder = VisionTransformer(resolved.encoder, rng: &rng)
                try Checkpoint.saveEncoder(encoder, to: dir.encoder, attributes: ["method": o.method.name])
            }
            try dir.writeManifest(manifest(completed: true, wall: Date().timeIntervalSince(start), steps: 0, flops: 0))
            return .completed(resumedFrom: nil)
        }

        if let classes = objective.requiredClasses {
            guard let labels = split.labels, !labels.isEmpty else {
                throw HarnessError("\(o.dataPath): \(o.method.name) trains with labels, and split '\(split.name)' has none")
            }
            if let bad = labels.first(where: { $0 < 0 || Int($0) >= classes }) {
                throw HarnessError("\(o.dataPath): split '\(split.name)' holds label \(bad); \(o.method.name) is set up for "
                                   + "\(classes) classes (0…\(classes - 1)): set methods.\(o.method.configKey ?? o.method.name).classes in the budget")
            }
        }
        let params = objective.namedParameters()
        // The budget's AdamW constants unless the method's authors' differ (DINO, SelfPatch, RR
        // and SR run torch's defaults).
        let constants = objective.adam ?? AdamSettings(beta1: budget.optimizer.beta1, beta2: budget.optimizer.beta2,
                                                       eps: budget.optimizer.eps)
        adamConstants = constants
        let adamw = AdamW(beta1: constants.beta1, beta2: constants.beta2, eps: constants.eps)
        var optimizer = adamw.initialState(for: params)
        var objectiveState = objective.initialState()
        let patch = budget.encoder.patchSize
        var wallBefore = 0.0
        var resumedFrom: Int? = nil
        var earlierSegments: [Provenance.Segment] = []
        if let last = dir.checkpointSteps().last {
            let path = dir.checkpoint(step: last)
            // The state is read into fresh tensors shaped like the initial one: never into
            // tensors an objective may still hold.
            let restoredState = objectiveState.tensors.map { ($0.0, $0.1.copy()) }
            let restored = try Checkpoint.loadTraining(from: path, parameters: params, patch: patch,
                                                       objectiveState: restoredState)
            optimizer = restored.0
            streams = restored.1
            objectiveState = ObjectiveState(restoredState)
            guard optimizer.step == last else { throw HarnessError("\(path): stores step \(optimizer.step), named step \(last)") }
            (wallBefore, earlierSegments) = try Self.timing(path, step: last)
            resumedFrom = last
            try dir.truncateLog(after: last)
        } else {
            try? FileManager.default.removeItem(atPath: dir.log)
            try? FileManager.default.removeItem(atPath: dir.csvLog)
        }

        let totalSteps = budget.totalSteps, batch = budget.batchSize
        let initial = RandomStreams(seed: o.seed)
        let loader = Loader(split: split, batchSize: batch, recipe: resolved.recipe, dataOrder: initial.dataOrder,
                            augmentation: initial.augmentation, dropLast: true, threads: o.threads)
        guard loader.batchesPerEpoch > 0 else {
            throw HarnessError("\(o.dataPath): split '\(split.name)' has \(split.count) images, fewer than one batch of \(batch)")
        }
        let schedule = CosineSchedule(base: budget.learningRate, final: budget.optimizer.minLearningRate, totalSteps: totalSteps,
                                      warmupSteps: Int(Double(totalSteps) * budget.optimizer.warmupFraction))
        let plan = OptimizerPlan(learningRate: schedule.values, weightDecay: budget.optimizer.weightDecay, batchSize: batch,
                                 context: StepContext(step: 0, stepsPerEpoch: loader.batchesPerEpoch, totalSteps: totalSteps))
        let groups = try Self.resolve(objective.parameterGroups(plan), parameters: params, method: objective.methodName,
                                      totalSteps: totalSteps)
        let flops = objective.flopsPerImage
        try dir.writeManifest(manifest(completed: false, wall: wallBefore, steps: optimizer.step,
                                       flops: Double(optimizer.step * batch) * flops.encoder, segments: earlierSegments))
        // This process's segment, up to `step` after `wall` seconds of the whole run; none when it
        // trained no step (a run stopped after its last checkpoint, before writing the encoder).
        let segmentFrom = optimizer.step, machine = Provenance.machine
        func segments(through step: Int, wall: Double) -> [Provenance.Segment] {
            guard step > segmentFrom else { return earlierSegments }
            return earlierSegments + [Provenance.Segment(fromStep: segmentFrom, toStep: step, threads: o.threads, machine: machine,
                                                         gemmPath: FloatGEMM.path.rawValue, wallSeconds: wall - wallBefore)]
        }

        var progress = ProgressReporter(mode: o.progress, total: totalSteps, label: "\(o.method.name) \(budget.name) seed\(o.seed)")
        let segmentStart = Date()
        var order: (epoch: Int, indices: [Int])? = nil
        var windowStart = Date(), windowSteps = 0
        var step = optimizer.step
        while step < totalSteps {
            let context = StepContext(step: step, stepsPerEpoch: loader.batchesPerEpoch, totalSteps: totalSteps)
            let (epoch, index) = (context.epoch, step % loader.batchesPerEpoch)
            if order?.epoch != epoch { order = (epoch, loader.order(epoch: epoch)) }
            let loaded = loader.batch(epoch: epoch, index: index, order: order!.indices)
            let views = loaded.views.map { view in
                TrainingBatch.View(images: Tensor(floats: view.pixels, shape: [batch, view.channels, view.size, view.size]),
                                   geometry: view.geometry)
            }
            for (_, p) in params { p.zeroGrad() }
            let out = objective.step(TrainingBatch(views: views, labels: loaded.labels.map(Int.init)), context: context, state: objectiveState, rng: &streams.masks)
            let value = out.loss.item
            guard value.isFinite else {
                let last = dir.checkpointSteps().last.map { dir.checkpoint(step: $0) } ?? "none (no checkpoint was written)"
                throw HarnessError("step \(step + 1) of \(objective.methodName) (\(dir.path)): the loss is \(value); the run "
                                   + "stopped and the last good checkpoint stays: \(last)")
            }
            out.loss.backward()
            optimizer = Self.update(params, groups: groups, optimizer: optimizer, adamw: adamw, step: step)
            let lr = groups[0].settings.learningRate[step]   // what the first group (the decayed weights) used
            objectiveState = out.nextState()
            step += 1
            windowSteps += 1
            let elapsed = Date().timeIntervalSince(windowStart)
            let stepsPerSecond = Double(windowSteps) / max(elapsed, 1e-9)
            if step % budget.logEvery == 0 || step == totalSteps {
                var terms: [String: Double] = [:]
                for (k, v) in out.terms { terms[k] = v }
                try dir.appendLog(["step": step, "images_seen": step * batch, "loss": value, "terms": terms, "lr": lr,
                                   "images_per_sec": stepsPerSecond * Double(batch),
                                   "flops": Double(step * batch) * flops.total,
                                   "encoder_flops": Double(step * batch) * flops.encoder,
                                   "wall_seconds": wallBefore + Date().timeIntervalSince(segmentStart)])
            }
            progress.update(done: step, loss: value, imagesPerSecond: stepsPerSecond * Double(batch), stepsPerSecond: stepsPerSecond)
            if elapsed > 20 { windowStart = Date(); windowSteps = 0 }
            if step % checkpointEvery == 0 || step == totalSteps {
                let wall = wallBefore + Date().timeIntervalSince(segmentStart)
                try Checkpoint.saveTraining(to: dir.checkpoint(step: step), parameters: params, optimizer: optimizer,
                                            streams: streams, patch: patch, objectiveState: objectiveState.tensors,
                                            attributes: [Self.wallAttribute: "\(wall)", "config_hash": hash,
                                                         Self.segmentsAttribute: try Self.encode(segments(through: step, wall: wall))])
                for old in dir.checkpointSteps() where old < step { try? FileManager.default.removeItem(atPath: dir.checkpoint(step: old)) }
            }
        }
        let wall = wallBefore + Date().timeIntervalSince(segmentStart)
        var attributes = objective.exportedAttributes()
        attributes["method"] = objective.methodName
        attributes["config_hash"] = hash
        let exported = objective.exportedEncoder(state: objectiveState)
        try Checkpoint.saveEncoder(exported.encoder, to: dir.encoder, attributes: attributes, extraParameters: exported.extras)
        try dir.writeManifest(manifest(completed: true, wall: wall, steps: totalSteps,
                                       flops: Double(totalSteps * batch) * flops.encoder,
                                       segments: segments(through: totalSteps, wall: wall)))
        return .completed(resumedFrom: resumedFrom)
    }

    /// The update after `backward()` (DINO's order): each group's gradients clipped by its rule,
    /// then the gradients of groups still frozen at `step` removed, then one AdamW step with
    /// each group's learning rate and weight decay of that step.
    public static func update(_ params: [(String, Tensor)], groups: [(settings: ParameterGroup, indices: [Int])],
                              optimizer: AdamW.State, adamw: AdamW, step: Int) -> AdamW.State {
        for group in groups {
            let tensors = group.indices.map { params[$0].1 }
            switch group.settings.clipping {
            case .none: break
            case .globalNorm(let limit): GradientClipping.clipGlobalNorm(tensors, maxNorm: limit)
            case .perTensor(let limit): GradientClipping.clipPerTensor(tensors, clip: limit)
            }
            if step < group.settings.frozenUntilStep { for t in tensors { t.zeroGrad() } }
        }
        return adamw.step(params, state: optimizer, groups: groups.map {
            ($0.indices, $0.settings.learningRate[step], $0.settings.weightDecay[step])
        })
    }

    /// Parameter groups with their keys turned into indices of `parameters`; every parameter must
    /// be in exactly one group and every schedule must cover the run.
    public static func resolve(_ groups: [ParameterGroup], parameters: [(String, Tensor)], method: String, totalSteps: Int) throws
        -> [(settings: ParameterGroup, indices: [Int])]
    {
        for group in groups where group.learningRate.count < totalSteps {
            throw HarnessError("\(method): parameter group '\(group.name)' has \(group.learningRate.count) scheduled steps, "
                               + "the run takes \(totalSteps)")
        }
        var slot: [String: Int] = [:]
        for (i, (key, _)) in parameters.enumerated() { slot[key] = i }
        var seen = [Bool](repeating: false, count: parameters.count)
        let resolved = try groups.map { group -> (settings: ParameterGroup, indices: [Int]) in
            let indices = try group.keys.map { key -> Int in
                guard let i = slot[key] else { throw HarnessError("\(method): parameter group '\(group.name)' names unknown parameter '\(key)'") }
                guard !seen[i] else { throw HarnessError("\(method): parameter '\(key)' is in two groups") }
                seen[i] = true
                return i
            }
            return (group, indices)
        }
        if let missing = seen.firstIndex(of: false) {
            throw HarnessError("\(method): parameter '\(parameters[missing].0)' is in no parameter group")
        }
        return resolved
    }

    static let wallAttribute = "wall_seconds"

    /// The segments up to a checkpoint (run.json `provenance.segments`), as JSON in the
    /// checkpoint so that they stay in step with it.
    static let segmentsAttribute = "segments"

    /// A checkpoint's wall seconds so far and its segments, read in one opening; a checkpoint from
    /// before segments were recorded gives one segment with unrecorded conditions.
    static func timing(_ path: String, step: Int) throws -> (wallSeconds: Double, segments: [Provenance.Segment]) {
        let file = try HDF5File(openingForReadAt: path)
        defer { file.close() }
        let wallSeconds = Double(try file.stringAttribute(wallAttribute)) ?? 0
        guard file.hasAttribute(segmentsAttribute) else {
            return (wallSeconds, [Provenance.Segment(fromStep: 0, toStep: step, threads: nil, machine: nil, gemmPath: nil,
                                                     wallSeconds: wallSeconds)])
        }
        let text = try file.stringAttribute(segmentsAttribute)
        let segments: [Provenance.Segment]
        do { segments = try JSONDecoder().decode([Provenance.Segment].self, from: Data(text.utf8)) } catch {
            throw HarnessError("\(path): the '\(segmentsAttribute)' attribute is not a list of segments: \(error)")
        }
        guard segments.last?.toStep == step else {
            throw HarnessError("\(path): the '\(segmentsAttribute)' attribute ends at step \(segments.last?.toStep ?? 0), "
                               + "the checkpoint is step \(step)")
        }
        return (wallSeconds, segments)
    }

    static func encode(_ segments: [Provenance.Segment]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(segments), as: UTF8.self)
    }
}
