import ArgumentParser
import Evaluation
import Foundation
import TensorCore

/// `patchbench features`: extracts frozen features of one pack split into an HDF5 cache.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract frozen encoder features of one pack split into an HDF5 feature cache.",
        discussion: """
            Runs the encoder over the images of --split (no augmentation, batched,
            without gradients, BLAS threads pinned) and writes float32 `features`
            ([N, F], or [N, gh, gw, D] for grid) with the encoder's parameter
            digest, the pack's content digest, the split, the kind and the
            normalisation as attributes. When --out already holds a cache with the
            same digests and settings it is reused; otherwise it is rebuilt. A file
            at --out that is not a feature cache is never overwritten.

            Kinds:
              cls       final-normalised CLS token (the patch-token mean for
                        encoders without CLS)
              mean      mean of the final-normalised patch tokens
              lastk:K   the last K blocks' outputs, each through the final
                        LayerNorm, CLS tokens concatenated (DINO eval_linear)
              grid      patch tokens [gh, gw, D] in raster order
              grid:lastk:K  the last K blocks' patch tokens, each through the
                        final LayerNorm, concatenated per token [gh, gw, K*D]

            Example:
              patchbench features --checkpoint runs/tiny/mae/seed0/encoder.h5 \\
                  --data datasets/default/fashion-mnist.h5 --split train \\
                  --kind cls --out train-cls.h5
            """)

    @OptionGroup var encoderOptions: FrozenEncoderOptions

    @Option(help: "Seed of --random-init (RandomStreams(seed).initialization).")
    var seed: UInt64 = 0

    @Option(help: "Dataset pack.")
    var data: String

    @Option(help: "Split of the pack (train, test, val, ...).")
    var split: String

    @Option(help: "Feature kind: cls, mean, lastk:K, grid or grid:lastk:K.")
    var kind: String = "cls"

    @Option(help: "Feature cache file to write (or reuse).")
    var out: String

    func validate() throws {
        guard (encoderOptions.checkpoint != nil) != encoderOptions.randomInit else { throw ValidationError("give exactly one of --checkpoint, --random-init") }
        _ = try FeatureKind(parsing: kind)
    }

    func run() throws {
        BLAS.setThreads(encoderOptions.resolvedThreads)
        let start = Date()
        let featureKind = try FeatureKind(parsing: kind)
        let source: EncoderSource = try encoderOptions.checkpoint.map { .checkpoint(path: $0) }
            ?? .randomInit(config: EncoderSource.config(named: encoderOptions.encoderConfig), seed: seed)
        let encoder = try source.makeEncoder()!
        let relativeBias = try source.makeRelativeBias(for: encoder)
        let pack = try EvalProtocol.openPack(data)
        let images = try pack.split(split)
        // pack-train statistics come from the pack's train split, whichever split is extracted.
        let norm = try ImageNormalization.named(encoderOptions.normalization) { try pack.split("train") }
        let key = FeatureCacheKey(encoderDigest: EncoderDigest.parameters(of: encoder, relativeBias: relativeBias), packDigest: pack.storedDigest,
                                  split: split, kind: featureKind.description, normalization: norm.cacheKey)
        let extractor = FeatureExtractor(encoder: encoder, relativeBias: relativeBias, normalization: norm, batchSize: encoderOptions.batchSize)
        let report = encoderOptions.progressLines().map { ExtractionProgress(role: split, total: images.count, say: $0) }
        let (features, reused) = try FeatureCache.loadOrCompute(path: out, key: key) {
            try extractor.extract(images: images.images, count: images.count, height: images.height, width: images.width,
                                  channels: images.channels, kind: featureKind, source: "\(data) split '\(split)'",
                                  progress: report.map { $0.update(done:) })
        }
        let seconds = Date().timeIntervalSince(start)
        print("\(reused ? "reused" : "wrote") \(out): \(featureKind) features \(features.shape) of \(images.count) images"
              + String(format: " in %.1f s (%.0f images/s, batch %d, %d threads)", seconds, Double(images.count) / seconds,
                       extractor.effectiveBatchSize(height: images.height, width: images.width), BLAS.threads))
    }
}
