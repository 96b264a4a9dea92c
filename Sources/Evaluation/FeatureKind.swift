/// What feature extraction reads out of a frozen encoder for each image.
///
/// - `cls`: the final-normalised CLS token [D]. Encoders without a CLS token (LoMaR) have none,
///   so a `cls` request falls back to the mean of the patch tokens (`pooling` says which was used).
/// - `mean`: the mean of the final-normalised patch tokens [D] (CLS excluded).
/// - `lastBlocks(k)`: DINO's `eval_linear` with `n_last_blocks = k`: the outputs of the last k
///   blocks, each passed through the encoder's final LayerNorm (DINO's `get_intermediate_layers`),
///   their CLS tokens (patch means without CLS) concatenated from the earliest block to the last [k·D].
/// - `grid`: the final-normalised patch tokens in raster order [gh, gw, D] (dense probes).
public enum FeatureKind: Equatable, Hashable, Sendable, CustomStringConvertible {
    case cls
    case mean
    case lastBlocks(Int)
    case grid

    /// Parses `cls`, `mean`, `lastk:K` (K ≥ 1) or `grid`.
    public init(parsing text: String) throws {
        switch text {
        case "cls": self = .cls
        case "mean": self = .mean
        case "grid": self = .grid
        default:
            let prefix = "lastk:"
            if text.hasPrefix(prefix), let k = Int(text.dropFirst(prefix.count)), k >= 1 {
                self = .lastBlocks(k)
            } else {
                throw EvaluationError.invalidInput(
                    "feature kind '\(text)': expected cls, mean, lastk:K (K >= 1) or grid")
            }
        }
    }

    /// The kind for an encoder of `depth` blocks: a last-blocks readout keeps at most `depth`.
    public func fitted(depth: Int) -> FeatureKind {
        if case .lastBlocks(let k) = self { return .lastBlocks(min(k, depth)) }
        return self
    }

    /// The serialised name (cache attribute, protocol value, CLI flag).
    public var description: String {
        switch self {
        case .cls: return "cls"
        case .mean: return "mean"
        case .lastBlocks(let k): return "lastk:\(k)"
        case .grid: return "grid"
        }
    }

    /// How the tokens are pooled for an encoder with or without a CLS token (for the protocol).
    public func pooling(encoderHasCls: Bool) -> String {
        switch self {
        case .cls:
            return encoderHasCls ? "cls token of the final-normalised output"
                : "mean of final-normalised patch tokens (encoder has no cls token)"
        case .mean: return "mean of final-normalised patch tokens"
        case .lastBlocks(let k):
            let token = encoderHasCls ? "cls token" : "mean of patch tokens (encoder has no cls token)"
            return "\(token) of each of the last \(k) blocks' outputs after the final LayerNorm, concatenated"
        case .grid: return "final-normalised patch tokens in raster order [gh, gw, D]"
        }
    }
}
