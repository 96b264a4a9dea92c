import Foundation

/// Every failure of the Results module, with a message that names the file (or claim) and what is wrong,
/// so a user can fix the input without reading the code.
public struct ResultsError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// Wraps a `DecodingError` so that the message names the file and the JSON path of the bad value.
    static func decoding(_ error: Error, file: String) -> ResultsError {
        guard let decodingError = error as? DecodingError else {
            return ResultsError("\(file): malformed JSON: \(error)")
        }
        func path(_ codingPath: [CodingKey]) -> String {
            let keys = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
            return keys.isEmpty ? "top level" : keys.joined()
        }
        switch decodingError {
        case .dataCorrupted(let context):
            return ResultsError("\(file): malformed JSON at \(path(context.codingPath)): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            return ResultsError(
                "\(file): missing key '\(key.stringValue)' at \(path(context.codingPath))")
        case .typeMismatch(let type, let context):
            return ResultsError(
                "\(file): wrong type at \(path(context.codingPath)), expected \(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return ResultsError("\(file): null or missing \(type) at \(path(context.codingPath))")
        @unknown default:
            return ResultsError("\(file): malformed JSON: \(decodingError)")
        }
    }
}
