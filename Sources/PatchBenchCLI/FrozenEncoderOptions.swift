import ArgumentParser
import Foundation

/// The options `eval` and `features` share: which frozen encoder, how images are normalised
/// and batched, and how many threads run it.
struct FrozenEncoderOptions: ParsableArguments {
    @Option(help: "Encoder checkpoint (encoder.h5).")
    var checkpoint: String?

    @Flag(help: "Use a randomly initialised, untrained encoder (see --encoder-config, --seed).")
    var randomInit = false

    @Option(help: "Encoder config for --random-init: tiny32, small64 or a ViT config JSON file.")
    var encoderConfig: String = "tiny32"

    @Option(help: "Input normalisation: imagenet (ImageNet mean/std, default) or pack-train (the train split's per-channel mean/std).")
    var normalization: String = "imagenet"

    @Option(help: "Images per forward pass (default: 256 at the encoder's image size, fewer for larger images).")
    var batchSize: Int?

    @Option(help: "BLAS and kernel threads (default: OPENBLAS_NUM_THREADS, else 2).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    /// --threads, else OPENBLAS_NUM_THREADS, else 2.
    var resolvedThreads: Int {
        threads ?? ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"].flatMap { Int($0) }.map { max(1, $0) } ?? 2
    }
}
