/// A command that ran and failed on its input (not a usage mistake): argument-parser prints
/// "Error: <description>" and exits 1, without the usage line that a `ValidationError` (exit 64)
/// would add.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
