import ArgumentParser
import Evaluation
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

    @Option(help: ArgumentHelp(stringLiteral: CommonHelp.threads))
    var threads: Int = 2

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        guard [ImageNormalization.imagenetName, ImageNormalization.packTrainName].contains(normalization) else {
            throw ValidationError("--normalization must be imagenet or pack-train")
        }
    }

    var resolvedThreads: Int { threads }
}
