import ArgumentParser
import Evaluation
import Foundation
import Harness

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

    @Option(help: "Progress on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or quiet. Feature extraction: a line per 10 s and the last; eval linear: a line per fit of the C sweep (bar shows lines for both); eval finetune: its steps.")
    var progress: String = "auto"

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        guard [ImageNormalization.imagenetName, ImageNormalization.packTrainName].contains(normalization) else {
            throw ValidationError("--normalization must be imagenet or pack-train")
        }
        guard ProgressReporter.Mode(rawValue: progress) != nil else {
            throw ValidationError("--progress must be one of auto, bar, lines, quiet")
        }
    }

    var progressMode: ProgressReporter.Mode { ProgressReporter.Mode(rawValue: progress)! }

    /// A sink that writes each progress line to stderr with the seconds since this call; nil
    /// for `--progress quiet`.
    func progressLines() -> (@Sendable (String) -> Void)? {
        guard progressMode != .quiet else { return nil }
        let started = ProcessInfo.processInfo.systemUptime
        return { line in
            let elapsed = ProcessInfo.processInfo.systemUptime - started
            FileHandle.standardError.write(Data((line + String(format: " (%.0f s)\n", elapsed)).utf8))
        }
    }

    var resolvedThreads: Int { threads }
}
