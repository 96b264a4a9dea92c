import Checkpoint
import Datasets
import Foundation
import HDF5Kit
import Layers
import Optim
import TensorCore

/// End-to-end fine-tuning of an encoder with a classification head: MAE's `main_finetune.py`
/// recipe scaled to a small labelled budget (Documentation/evaluation.md, "Fine-tuning").
///
/// AdamW (torch's defaults β = 0.9/0.999, ε = 1e-8) over MAE's layer-wise decay groups
/// (`LayerDecay`), lr = blr · batch / 256 per step with a linear warm-up and a half-cycle cosine
/// to `minLearningRate` (MAE's per-iteration `adjust_learning_rate`), drop path in every block,
/// label-smoothing cross-entropy, RandomResizedCrop + horizontal flip only.
///
/// Determinism and resumption: batch (epoch, index) is a pure function of the data-order and
/// augmentation streams (`Datasets.Loader`); drop path draws from the drop-path stream, which
/// every checkpoint stores with the parameters, the AdamW moments and the step, so a run resumed
/// from a checkpoint ends bit-identical to an uninterrupted one (same threads).
public enum FineTuning {
    public struct Configuration: Equatable, Sendable {
        /// Labelled training images: a stratified subset of the train split.
        public var subsetSize = 4_000
        public var epochs = 4
        public var batchSize = 64
        /// lr = blr · batch / 256 (MAE's linear scaling rule); blr chosen on a held-out train
        /// slice (Scripts/choose_finetune_recipe.sh, Documentation/evaluation.md).
        public var baseLearningRate = 3e-3
        public var minLearningRate = 1e-6
        public var warmupEpochs = 1
        public var layerDecay = 0.75
        public var weightDecay = 0.05
        /// Stochastic depth of the last block (timm's linear rule: 0 at the first).
        public var dropPath = 0.1
        public var labelSmoothing = 0.1
        /// RandomResizedCrop scale, ratio 3/4–4/3, bicubic; flip p 0.5. timm's default lower bound 0.08
        /// is ImageNet's at 224 px; at 32 px it keeps a 9 px patch of a Fashion-MNIST item, so the
        /// pretraining's own 0.2–1 (the budget's augmentation) is used.
        public var cropScale: ClosedRange<Double> = 0.2...1.0
        public var pooling = FineTuneModel.Pooling.mean
        /// Images per forward pass when scoring (no effect on the numbers' meaning; recorded).
        public var evaluationBatchSize = 256

        public init() {}

        public var learningRate: Double { baseLearningRate * Double(batchSize) / 256 }

        /// The protocol block's settings.
        public var protocolSettings: [String: ProtocolValue] {
            [
                "subset_size": .integer(subsetSize), "epochs": .integer(epochs), "batch_size": .integer(batchSize),
                "base_learning_rate": .number(baseLearningRate), "learning_rate": .number(learningRate),
                "min_learning_rate": .number(minLearningRate), "warmup_epochs": .integer(warmupEpochs),
                "layer_decay": .number(layerDecay), "weight_decay": .number(weightDecay), "drop_path": .number(dropPath),
                "label_smoothing": .number(labelSmoothing),
                "optimizer": .string("AdamW (beta1 0.9, beta2 0.999, eps 1e-8), MAE param_groups_lrd groups"),
                "schedule": .string("per step: linear warm-up from 0, then half-cycle cosine to min_learning_rate"),
                "augmentation": .string("RandomResizedCrop(scale \(cropScale.lowerBound)-\(cropScale.upperBound), "
                                        + "ratio 3/4-4/3, bicubic) + horizontal flip p 0.5; no RandAugment, mixup, "
                                        + "cutmix or random erasing"),
                "pooling": .string(pooling == .mean ? "global pool: mean of patch tokens + fc_norm" : "cls token + final norm"),
                "head_init": .string("trunc_normal std 2e-5, bias 0"),
                "evaluation_batch_size": .integer(evaluationBatchSize),
            ]
        }
    }

    /// Where and how often training state is saved; `identity` is written into the file and must
    /// match to resume (a checkpoint of other inputs or settings is an error, never resumed).
    public struct CheckpointPlan: Sendable {
        public var path: String
        public var every: Int
        public var identity: String
        /// Stop (throwing `Stopped`) right after the checkpoint of this step: what a killed run
        /// leaves behind, for the resume tests.
        public var stopAfterStep: Int?

        public init(path: String, every: Int, identity: String, stopAfterStep: Int? = nil) {
            precondition(every > 0, "checkpoint frequency must be positive")
            self.path = path
            self.every = every
            self.identity = identity
            self.stopAfterStep = stopAfterStep
        }
    }

    /// Thrown after the checkpoint of `CheckpointPlan.stopAfterStep`.
    public struct Stopped: Error, Equatable {
        public let step: Int
        public init(step: Int) { self.step = step }
    }

    public struct Progress {
        public var step: Int
        public var totalSteps: Int
        public var loss: Double
        public var imagesPerSecond: Double
        public var stepsPerSecond: Double
    }

    public struct Result: Equatable, Sendable {
        /// Test top-1 (%), scored once.
        public var top1: Double
        /// Top-1 (%) on the labelled subset, unaugmented, in evaluation mode.
        public var trainTop1: Double
        public var steps: Int
        /// Mean training loss of the last epoch.
        public var lastEpochLoss: Double
        public var resumedFrom: Int?
        /// Seconds spent before this process (from the checkpoint, measured by the caller's clock).
        public var earlierSeconds: Double
    }

    static let identityAttribute = "finetune_identity"
    static let wallAttribute = "wall_seconds"
    /// Float bit patterns (exact): the running loss sum of the current epoch, the last epoch's mean.
    static let epochLossAttribute = "epoch_loss_sum_bits"
    static let lastEpochLossAttribute = "last_epoch_loss_bits"

    /// Trains `model` on `train` (labelled) and scores `test`. `streams`: the run's streams after
    /// the subset and head were drawn (`dataOrder`, `augmentation` seed the loader; `dropPath` is
    /// advanced and checkpointed).
    public static func train(_ model: FineTuneModel, train: PackSplit, test: PackSplit, normalization: ImageNormalization,
                             configuration c: Configuration, streams initialStreams: RandomStreams, threads: Int,
                             checkpoint: CheckpointPlan?, progress: ((Progress) -> Void)? = nil,
                             clock: () -> Double = { ProcessInfo.processInfo.systemUptime }) throws -> Result {
        guard let labels = train.labels, let testLabels = test.labels else {
            throw EvaluationError.invalidInput("fine-tuning needs labelled train and test splits")
        }
        let params = model.namedParameters()
        let decay = LayerDecay(depth: model.encoder.config.depth, decay: c.layerDecay, weightDecay: c.weightDecay)
        let groups = decay.groups(params.map { ($0.0, $0.1.rank) })
        let adamw = Optim.AdamW(beta1: 0.9, beta2: 0.999, eps: 1e-8)
        var optimizer = adamw.initialState(for: params)
        var streams = initialStreams
        var recipe = MultiCropRecipe.single(size: model.encoder.config.imageSize, scale: c.cropScale, flip: true)
        recipe.views[0].mean = normalization.mean
        recipe.views[0].std = normalization.std
        let loader = Loader(split: train, batchSize: c.batchSize, recipe: recipe, dataOrder: initialStreams.dataOrder,
                            augmentation: initialStreams.augmentation, dropLast: true, threads: threads)
        guard loader.batchesPerEpoch > 0 else {
            throw EvaluationError.invalidInput("fine-tuning: \(train.count) labelled images are fewer than one batch of \(c.batchSize)")
        }
        let stepsPerEpoch = loader.batchesPerEpoch, totalSteps = c.epochs * stepsPerEpoch
        let schedule = CosineSchedule(base: c.learningRate, final: c.minLearningRate, totalSteps: totalSteps,
                                      warmupSteps: min(c.warmupEpochs * stepsPerEpoch, totalSteps))
        let patch = model.encoder.config.patchSize
        var earlier = 0.0, resumedFrom: Int? = nil, epochLossSum = 0.0, lastEpochLoss = 0.0
        if let plan = checkpoint, FileManager.default.fileExists(atPath: plan.path) {
            let stored = try attributes(plan.path)
            guard stored.identity == plan.identity else {
                throw EvaluationError.invalidInput("\(plan.path): a fine-tuning checkpoint of other inputs or settings "
                                                   + "(\(stored.identity.prefix(16))…, this run \(plan.identity.prefix(16))…); remove it to start over")
            }
            let restored: (Optim.AdamW.State, RandomStreams)
            do { restored = try Checkpoint.loadTraining(from: plan.path, parameters: params, patch: patch) } catch {
                throw EvaluationError.invalidInput("\(plan.path): cannot resume from the fine-tuning checkpoint: \(error)")
            }
            (optimizer, streams) = restored
            (earlier, epochLossSum, lastEpochLoss, resumedFrom) = (stored.wall, stored.epochLossSum, stored.lastEpochLoss,
                                                                   optimizer.step)
        }

        let segmentStart = clock()
        var windowStart = Date(), windowSteps = 0
        var order: (epoch: Int, indices: [Int])? = nil
        var step = optimizer.step
        while step < totalSteps {
            let epoch = step / stepsPerEpoch, index = step % stepsPerEpoch
            if order?.epoch != epoch { order = (epoch, loader.order(epoch: epoch)) }
            let batch = loader.batch(epoch: epoch, index: index, order: order!.indices)
            let view = batch.views[0]
            let images = Tensor(floats: view.pixels, shape: [batch.count, view.channels, view.size, view.size])
            for (_, p) in params { p.zeroGrad() }
            var rng: RandomStream? = streams.dropPath
            let loss = model(images, dropPathRNG: &rng).crossEntropy(labels: batch.labels.map(Int.init), smoothing: c.labelSmoothing)
            streams.dropPath = rng!
            let value = loss.item
            guard value.isFinite else {
                throw EvaluationError.nonFinite("fine-tuning loss at step \(step + 1) (epoch \(epoch), lr \(schedule.value(at: step)))")
            }
            loss.backward()
            let lr = schedule.value(at: step)
            optimizer = adamw.step(params, state: optimizer, groups: groups.map {
                ($0.indices, lr * $0.learningRateScale, $0.weightDecay)
            })
            step += 1
            epochLossSum += value
            if step % stepsPerEpoch == 0 {
                lastEpochLoss = epochLossSum / Double(stepsPerEpoch)
                epochLossSum = 0
            }
            windowSteps += 1
            let elapsed = Date().timeIntervalSince(windowStart)
            let stepsPerSecond = Double(windowSteps) / max(elapsed, 1e-9)
            progress?(Progress(step: step, totalSteps: totalSteps, loss: value,
                               imagesPerSecond: stepsPerSecond * Double(c.batchSize), stepsPerSecond: stepsPerSecond))
            if elapsed > 20 { (windowStart, windowSteps) = (Date(), 0) }
            if let plan = checkpoint, step % plan.every == 0 || step == totalSteps {
                let wall = earlier + clock() - segmentStart
                try Checkpoint.saveTraining(to: plan.path, parameters: params, optimizer: optimizer, streams: streams, patch: patch,
                                            attributes: [identityAttribute: plan.identity, wallAttribute: "\(wall)",
                                                         epochLossAttribute: "\(epochLossSum.bitPattern)",
                                                         lastEpochLossAttribute: "\(lastEpochLoss.bitPattern)"])
                if plan.stopAfterStep == step { throw Stopped(step: step) }
            }
        }
        let top1 = try accuracy(model, split: test, labels: testLabels, normalization: normalization, batch: c.evaluationBatchSize)
        let trainTop1 = try accuracy(model, split: train, labels: labels, normalization: normalization, batch: c.evaluationBatchSize)
        return Result(top1: top1, trainTop1: trainTop1, steps: totalSteps, lastEpochLoss: lastEpochLoss,
                      resumedFrom: resumedFrom, earlierSeconds: earlier)
    }

    /// Top-1 (%) of `model` in evaluation mode on unaugmented, normalised images; ties go to the
    /// lower class.
    public static func accuracy(_ model: FineTuneModel, split: PackSplit, labels: [Int32], normalization: ImageNormalization,
                                batch: Int) throws -> Double {
        var correct = 0
        try split.images.withUnsafeBufferPointer { pixels in
            for start in stride(from: 0, to: split.count, by: batch) {
                let size = min(batch, split.count - start)
                let input = normalization.channelsFirst(pixels, first: start, count: size, height: split.height,
                                                        width: split.width, channels: split.channels)
                let logits = Tensor.withoutGrad { () -> [Float] in
                    var none: RandomStream? = nil
                    return model(Tensor(floats: input, shape: [size, split.channels, split.height, split.width]),
                                 dropPathRNG: &none).floats
                }
                guard logits.allSatisfy(\.isFinite) else {
                    throw EvaluationError.nonFinite("fine-tuned logits of images \(start)..<\(start + size)")
                }
                let k = model.classes
                for i in 0..<size {
                    var best = 0
                    for j in 1..<k where logits[i * k + j] > logits[i * k + best] { best = j }
                    if best == Int(labels[start + i]) { correct += 1 }
                }
            }
        }
        return 100 * Double(correct) / Double(split.count)
    }

    static func attributes(_ path: String) throws -> (identity: String, wall: Double, epochLossSum: Double, lastEpochLoss: Double) {
        let file: HDF5File
        do { file = try HDF5File(openingForReadAt: path) } catch {
            throw EvaluationError.invalidInput("\(path): not a readable fine-tuning checkpoint: \(error)")
        }
        defer { file.close() }
        guard file.hasAttribute(identityAttribute) else {
            throw EvaluationError.invalidInput("\(path): not a fine-tuning checkpoint (no \(identityAttribute) attribute)")
        }
        let identity = try file.stringAttribute(identityAttribute)
        let wall = file.hasAttribute(wallAttribute) ? Double(try file.stringAttribute(wallAttribute)) ?? 0 : 0
        func bits(_ name: String) throws -> Double {
            guard file.hasAttribute(name), let value = UInt64(try file.stringAttribute(name)) else {
                throw EvaluationError.invalidInput("\(path): fine-tuning checkpoint without a valid '\(name)' attribute")
            }
            return Double(bitPattern: value)
        }
        return (identity, wall, try bits(epochLossAttribute), try bits(lastEpochLossAttribute))
    }
}
