/// What feature extraction reads out of a frozen encoder for each image.
///
/// - `cls`: the final-normalised CLS token [D]. An encoder without a CLS token has none, so a
///   `cls` request falls back to the mean of the patch tokens (`pooling` says which was used).
///   (LoMaR has one, but its loss never reaches it: its method-table readout is `mean`.)
/// - `mean`: the mean of the final-normalised patch tokens [D] (CLS excluded).
/// - `lastBlocks(k)`: DINO's `eval_linear` with `n_last_blocks = k`: the outputs of the last k
///   blocks, each passed through the encoder's final LayerNorm (DINO's `get_intermediate_layers`),
///   their CLS tokens (patch means without CLS) concatenated from the earliest block to the last [k·D].
/// - `grid`: the final-normalised patch tokens in raster order [gh, gw, D] (dense probes).
/// - `gridLastBlocks(k)` (k ≥ 2): the patch tokens of the last k blocks, each through the final
///   LayerNorm (as `lastBlocks`), concatenated per token along channels from the earliest block to
///   the last [gh, gw, k·D] (`--blocks K` of the dense probes). k = 1 is `grid`.
public enum FeatureKind: Equatable, Hashable, Sendable, CustomStringConvertible {
    case cls
    case mean
    case lastBlocks(Int)
    case grid
    case gridLastBlocks(Int)

    /// Parses `cls`, `mean`, `lastk:K` (K ≥ 1), `grid` or `grid:lastk:K` (K ≥ 1; K = 1 is `grid`).
    public init(parsing text: String) throws {
        switch text {
        case "cls": self = .cls
        case "mean": self = .mean
        case "grid": self = .grid
        default:
            let prefix = "lastk:", gridPrefix = "grid:lastk:"
            if text.hasPrefix(prefix), let k = Int(text.dropFirst(prefix.count)), k >= 1 {
                self = .lastBlocks(k)
            } else if text.hasPrefix(gridPrefix), let k = Int(text.dropFirst(gridPrefix.count)), k >= 1 {
                self = .grid(blocks: k)
            } else {
                throw EvaluationError.invalidInput(
                    "feature kind '\(text)': expected cls, mean, lastk:K (K >= 1), grid or grid:lastk:K")
            }
        }
    }

    /// The token grid of the last `blocks` blocks: `grid` for 1, else `gridLastBlocks`.
    public static func grid(blocks: Int) -> FeatureKind {
        precondition(blocks >= 1, "a grid reads at least one block")
        return blocks == 1 ? .grid : .gridLastBlocks(blocks)
    }

    /// Whether this is a token grid [gh, gw, ·] (the dense probes' input).
    public var isGrid: Bool {
        switch self {
        case .grid, .gridLastBlocks: return true
        case .cls, .mean, .lastBlocks: return false
        }
    }

    /// How many of the last blocks the kind reads (1 for the final output only).
    public var blocks: Int {
        switch self {
        case .lastBlocks(let k), .gridLastBlocks(let k): return k
        case .cls, .mean, .grid: return 1
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
        case .gridLastBlocks(let k): return "grid:lastk:\(k)"
        }
    }

    /// Whether this kind's vector is the last D values of a `lastk:K` row for the same encoder:
    /// both pool the final-normalised output of the final block alike (the CLS token, or the
    /// patch mean where the encoder has no CLS token).
    public func isFinalBlockOfLastBlocks(encoderHasCls: Bool) -> Bool {
        switch self {
        case .cls: return true
        case .mean: return !encoderHasCls
        case .lastBlocks, .grid, .gridLastBlocks: return false
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
        case .gridLastBlocks(let k):
            return "patch tokens of each of the last \(k) blocks' outputs after the final LayerNorm, concatenated per token along channels (earliest block first) in raster order [gh, gw, \(k)*D]"
        }
    }
}
