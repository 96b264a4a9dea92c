import Foundation

/// Errors raised while reading metric inputs. Every message names the file (or the input) and
/// what is wrong with it, so a bad annotation file can be fixed without a debugger.
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// The file is not valid JSON, or its top level has the wrong type.
    case malformedJSON(file: String, reason: String)
    /// A required field is missing or has the wrong type; `field` is a path like `annotations[3].bbox`.
    case invalidField(file: String, field: String, reason: String)
    /// Inputs that are individually valid but inconsistent with each other.
    case inconsistent(file: String, reason: String)
    /// Arrays whose shapes do not agree (streaming segmentation metrics).
    case shapeMismatch(String)
    /// A label or prediction outside 0..<classes that is not the ignore index.
    case labelOutOfRange(String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read file: \(reason)"
        case let .malformedJSON(file, reason): return "\(file): malformed JSON: \(reason)"
        case let .invalidField(file, field, reason): return "\(file): field '\(field)': \(reason)"
        case let .inconsistent(file, reason): return "\(file): \(reason)"
        case let .shapeMismatch(message): return "shape mismatch: \(message)"
        case let .labelOutOfRange(message): return "label out of range: \(message)"
        }
    }
}
