import Foundation

/// A bad input or a failed conversion. The message always starts with the file (or directory)
/// it is about, then says what is wrong, so "convert" errors can be acted on directly.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let problem: String

    public init(_ file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}

/// Reads a whole file, turning Foundation's error into one that names the file.
func readFileBytes(_ path: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else { throw DatasetError(path, "no such file") }
    guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError(path, "cannot read file") }
    return [UInt8](data)
}
