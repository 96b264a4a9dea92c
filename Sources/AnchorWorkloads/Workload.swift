import Datasets
import Foundation
import Layers
import Objectives
import Optim
import TensorCore

/// The workloads of ../shared/bench/anchor_vit.py, built with the same shapes, batch,
/// optimizer and FLOP accounting, so `patchbench bench` and the PyTorch anchor can be held
/// side by side on one machine. Inputs are synthetic N(0, 1) images and random labels made
/// once before timing; nothing of data loading is timed.
public enum WorkloadKind: String, Sendable { case sup, mae, infer, dino }

public struct WorkloadSpec: Sendable {
    public let name: String
    public let kind: WorkloadKind
    public let configName: String
    public let config: ViTConfig
    public let batch: Int

    public static let all: [WorkloadSpec] = [
        WorkloadSpec(name: "sup-tiny32", kind: .sup, configName: "tiny-32", config: .tiny32, batch: 64),
        WorkloadSpec(name: "mae-tiny32", kind: .mae, configName: "tiny-32", config: .tiny32, batch: 64),
        WorkloadSpec(name: "dino-tiny32", kind: .dino, configName: "tiny-32", config: .tiny32, batch: 64),
        WorkloadSpec(name: "infer-tiny32", kind: .infer, configName: "tiny-32", config: .tiny32, batch: 256),
        WorkloadSpec(name: "sup-small64", kind: .sup, configName: "small-64", config: .small64, batch: 64),
        WorkloadSpec(name: "mae-small64", kind: .mae, configName: "small-64", config: .small64, batch: 64),
    ]

    public static func named(_ name: String) -> WorkloadSpec? { all.first { $0.name == name } }

    /// Analytic FLOPs per image (anchor_vit.py's `flops_per_image`): 2·M·N·K per matmul;
    /// training = 3 × forward.
    public var flopsPerImage: (forward: Double, total: Double) {
        func mm(_ m: Int, _ n: Int, _ k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }
        func block(_ t: Int, _ d: Int, _ h: Int, _ r: Int) -> Double {
            let hd = d / h
            return mm(t, 3 * d, d) + Double(h) * mm(t, t, hd) + Double(h) * mm(t, hd, t) + mm(t, d, d) + mm(t, r * d, d) + mm(t, d, r * d)
        }
        let c = config, n = c.patchCount, d = c.dimension, pdim = c.patchSize * c.patchSize * 3
        func encoder(_ patches: Int, _ tokens: Int) -> Double { mm(patches, d, pdim) + Double(c.depth) * block(tokens, d, c.heads, 4) }
        switch kind {
        case .infer:
            let f = encoder(n, n + 1)
            return (f, f)
        case .sup:
            let f = encoder(n, n + 1) + mm(1, 10, d)
            return (f, 3 * f)
        case .mae:
            let keep = Int(Double(n) * 0.25)
            let f = encoder(n, keep + 1) + mm(keep + 1, 128, d) + 2 * block(n + 1, 128, 4, 4) + mm(n + 1, pdim, 128)
            return (f, 3 * f)
        case .dino:
            let head = mm(1, 512, d) + mm(1, 512, 512) + mm(1, 128, 512) + mm(1, 1024, 128)
            let local = (16 / c.patchSize) * (16 / c.patchSize)
            let global = encoder(n, n + 1) + head, crop = encoder(local, local + 1) + head
            let student = 2 * global + 4 * crop, teacher = 2 * global
            return (student + teacher, 3 * student + teacher)
        }
    }
}

/// One prepared workload: `step()` runs a full training step (forward, backward, AdamW) or
/// one inference forward, and returns the loss (0 for inference).
public final class PreparedWorkload {
    public let spec: WorkloadSpec
    public let parameterCount: Int
    private let stepBody: () -> Double

    public func step() -> Double { stepBody() }

    public init(_ spec: WorkloadSpec, seed: UInt64 = 0) {
        self.spec = spec
        var rng = RandomStream(seed: seed)
        let c = spec.config
        let b = spec.batch
        let images = Tensor((0..<(b * 3 * c.imageSize * c.imageSize)).map { _ in rng.nextNormal() },
                            shape: [b, 3, c.imageSize, c.imageSize])
        let labels = (0..<b).map { _ in rng.nextInt(below: 10) }
        let encoder = VisionTransformer(c, rng: &rng)
        let adamw = AdamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, decays: { _, _ in true })  // anchor: wd on all params
        switch spec.kind {
        case .infer:
            parameterCount = encoder.parameterCount
            stepBody = {
                Tensor.withoutGrad {
                    let out = encoder(images)
                    return out.storage[0]
                }
            }
        case .sup:
            let head = Linear(c.dimension, 10, rng: &rng)
            let params = encoder.namedParameters() + head.namedParameters(prefix: "head")
            parameterCount = params.reduce(0) { $0 + $1.1.count }
            var state = adamw.initialState(for: params)
            stepBody = {
                for (_, p) in params { p.zeroGrad() }
                let feats = encoder(images).slice(axis: 1, 0..<1).reshaped([b, c.dimension])
                let loss = head(feats).crossEntropy(labels: labels)
                loss.backward()
                state = adamw.step(params, state: state, learningRate: 1e-4, weightDecay: 0.05)
                return loss.item
            }
        case .dino:
            // PatchBench's own DINO objective at the anchor's settings: 2 global 32 px and 4 local
            // 16 px crops, head 512/128/1024, τ 0.1/0.04, centre 0.9, EMA 0.996, AdamW wd 0.04 on
            // every tensor, no clipping or frozen layer, no stochastic depth.
            var config = DINO.Config()
            (config.outputs, config.hidden, config.bottleneck) = (1024, 512, 128)
            config.dropPath = 0
            let dino = DINO(encoder: c, config: config, rng: &rng)
            let local = Tensor((0..<(4 * b * 3 * 16 * 16)).map { _ in rng.nextNormal() }, shape: [4 * b, 3, 16, 16])
            let box = Datasets.CropBox(top: 0, left: 0, height: 32, width: 32)
            let view = { (images: Tensor) in
                TrainingBatch.View(images: images, geometry: (0..<b).map { _ in
                    CropGeometry(box: box, flipped: false, outputSize: images.shape[2])
                })
            }
            let globals = [images, (images * -1).detached()]
            let locals = (0..<4).map { local.slice(axis: 0, ($0 * b)..<(($0 + 1) * b)).detached() }
            let batch = TrainingBatch(views: (globals + locals).map(view))
            let params = dino.namedParameters()
            parameterCount = params.reduce(0) { $0 + $1.1.count }
            var state = adamw.initialState(for: params)
            var objectiveState = dino.initialState()
            var stepRNG = RandomStream(seed: seed &+ 2)
            let context = StepContext(step: 0, stepsPerEpoch: 1_000_000, totalSteps: 1_000_000)
            stepBody = {
                for (_, p) in params { p.zeroGrad() }
                let out = dino.step(batch, context: context, state: objectiveState, rng: &stepRNG)
                out.loss.backward()
                state = adamw.step(params, state: state, learningRate: 1e-4, weightDecay: 0.04)
                objectiveState = out.nextState()
                return out.loss.item
            }
        case .mae:
            let mae = AnchorMAE(encoder: encoder, rng: &rng)
            let params = mae.namedParameters()
            parameterCount = params.reduce(0) { $0 + $1.1.count }
            var state = adamw.initialState(for: params)
            var maskRNG = RandomStream(seed: seed &+ 1)
            stepBody = {
                for (_, p) in params { p.zeroGrad() }
                let loss = mae.loss(images, rng: &maskRNG)
                loss.backward()
                state = adamw.step(params, state: state, learningRate: 1e-4, weightDecay: 0.05)
                return loss.item
            }
        }
    }
}

/// The anchor's MAE step (learnable decoder position embedding, as anchor_vit.py defines
/// it; the objective PatchBench pretrains with lives in Objectives/MAE).
final class AnchorMAE: Module {
    let encoder: VisionTransformer
    let decoderEmbed: Linear
    let maskToken: Tensor
    let decoderPositions: Tensor
    let decoderBlocks: [Block]
    let decoderNorm: LayerNorm
    let decoderPred: Linear

    init(encoder: VisionTransformer, rng: inout RandomStream) {
        self.encoder = encoder
        let c = encoder.config
        decoderEmbed = Linear(c.dimension, 128, rng: &rng)
        maskToken = Initializer.truncatedNormal([1, 1, 128], std: 0.02, dtype: .float32, rng: &rng)
        decoderPositions = Initializer.truncatedNormal([1, c.patchCount + 1, 128], std: 0.02, dtype: .float32, rng: &rng)
        decoderBlocks = (0..<2).map { _ in Block(128, heads: 4, rng: &rng) }
        decoderNorm = LayerNorm(128)
        decoderPred = Linear(128, c.patchSize * c.patchSize * 3, rng: &rng)
    }

    func loss(_ images: Tensor, rng: inout RandomStream) -> Tensor {
        let c = encoder.config, b = images.shape[0], n = c.patchCount, keep = n / 4
        var keepIds: [[Int]] = [], restore: [[Int]] = [], maskRows: [Double] = []
        for _ in 0..<b {
            let noise = (0..<n).map { _ in rng.nextDouble() }
            let shuffle = (0..<n).sorted { noise[$0] < noise[$1] || (noise[$0] == noise[$1] && $0 < $1) }
            keepIds.append(Array(shuffle[..<keep]))
            var r = [Int](repeating: 0, count: n)
            for (pos, id) in shuffle.enumerated() { r[id] = pos }
            restore.append(r)
            var m = [Double](repeating: 1, count: n)
            for id in shuffle[..<keep] { m[id] = 0 }
            maskRows += m
        }
        var x = encoder.embed(images).gatherTokens(keepIds)
        x = encoder.prependCls(x)
        var none: RandomStream? = nil
        x = encoder.encode(x, dropPathRNG: &none)
        x = decoderEmbed(x)
        let visible = x.slice(axis: 1, 1..<(keep + 1))
        let masks = maskToken + Tensor.zeros([b, n - keep, 128])
        let full = Tensor.concat([visible, masks], axis: 1).gatherTokens(restore)
        var y = Tensor.concat([x.slice(axis: 1, 0..<1), full], axis: 1) + decoderPositions
        for blk in decoderBlocks { y = blk(y) }
        let pred = decoderPred(decoderNorm(y)).slice(axis: 1, 1..<(n + 1))
        let target = Tensor.withoutGrad { () -> Tensor in
            let t = Patchify.patches(images, patch: c.patchSize, order: .channelsLast)
            let mean = t.mean(axes: [-1], keepDims: true)
            let centred = t - mean
            let p = Double(t.shape[2])
            let variance = centred.square().sum(axes: [-1], keepDims: true) * (1 / (p - 1))
            return centred / (variance + 1e-6).sqrt()
        }
        let perPatch = (pred - target).square().mean(axes: [-1])
        let mask = Tensor(maskRows, shape: [b, n])
        return (perPatch * mask).sum() / Double(b * (n - keep))
    }

    func namedParameters() -> [(String, Tensor)] {
        var p = encoder.namedParameters()
        p += decoderEmbed.namedParameters(prefix: "decoder_embed")
        p.append(("mask_token", maskToken))
        p.append(("decoder_pos_embed", decoderPositions))
        for (i, blk) in decoderBlocks.enumerated() { p += blk.namedParameters(prefix: "decoder_blocks.\(i)") }
        p += decoderNorm.namedParameters(prefix: "decoder_norm")
        p += decoderPred.namedParameters(prefix: "decoder_pred")
        return p
    }
}
