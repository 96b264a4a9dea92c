/// Errors of the evaluation heads: messages name the input and what is wrong with it.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// Shapes, labels or files that a head cannot use.
    case invalidInput(String)
    /// The optimiser produced a non-finite value (names the head and the step).
    case nonFinite(String)

    public var description: String {
        switch self {
        case let .invalidInput(message): return message
        case let .nonFinite(message): return "non-finite value: \(message)"
        }
    }
}
