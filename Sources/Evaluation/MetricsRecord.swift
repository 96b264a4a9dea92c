import Foundation
import SafeIO

/// A JSON value for the free-form `protocol` object of a metrics file (grids, seeds, names).
/// Numbers are Doubles (integers are written without a fraction), so a file reads back equal.
public enum ProtocolValue: Codable, Equatable, Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case list([ProtocolValue])
    case object([String: ProtocolValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ProtocolValue].self) {
            self = .list(value)
        } else {
            self = .object(try container.decode([String: ProtocolValue].self))
        }
    }

    /// An integer setting (stored as a number).
    public static func integer(_ value: Int) -> ProtocolValue { .number(Double(value)) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .bool(value): try container.encode(value)
        case let .list(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }
}

/// One `eval/<probe>.json` file, schema "patchbench.metrics/1" (Documentation/run-layout.md).
/// Metric values are percentages in 0–100 except the linear probe's `C`.
public struct MetricsRecord: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.metrics/1"

    public struct DatasetInfo: Codable, Equatable, Sendable {
        public var name: String
        public var digest: String
        public init(name: String, digest: String) {
            self.name = name
            self.digest = digest
        }
    }

    public struct EncoderInfo: Codable, Equatable, Sendable {
        public var method: String
        public var budget: String
        public var seed: Int
        public var configHash: String
        public init(method: String, budget: String, seed: Int, configHash: String) {
            self.method = method
            self.budget = budget
            self.seed = seed
            self.configHash = configHash
        }
        enum CodingKeys: String, CodingKey {
            case method, budget, seed
            case configHash = "config_hash"
        }
    }

    public var schema: String
    /// `linear`, `knn`, `seg` or `det`.
    public var probe: String
    public var dataset: DatasetInfo
    public var encoder: EncoderInfo
    /// Every setting of the probe (feature kind, grid, split seed, ...).
    public var settings: [String: ProtocolValue]
    public var metrics: [String: Double]
    public var wallSeconds: Double
    public var threads: Int
    /// The commit (and dirty flag) of the checkout the evaluating binary was started from;
    /// absent in files written before they were recorded, and when evaluating outside the CLI.
    public var gitCommit: String?
    public var gitDirty: Bool?
    /// The commit the evaluating binary was built from, and whether its tracked files had
    /// changes then (absent in older files).
    public var buildCommit: String?
    public var buildDirty: Bool?

    public init(probe: String, dataset: DatasetInfo, encoder: EncoderInfo, settings: [String: ProtocolValue],
                metrics: [String: Double], wallSeconds: Double, threads: Int) {
        self.schema = Self.schemaName
        self.probe = probe
        self.dataset = dataset
        self.encoder = encoder
        self.settings = settings
        self.metrics = metrics
        self.wallSeconds = wallSeconds
        self.threads = threads
    }

    enum CodingKeys: String, CodingKey {
        case schema, probe, dataset, encoder, metrics, threads
        case settings = "protocol"
        case wallSeconds = "wall_seconds"
        case gitCommit = "git_commit"
        case gitDirty = "git_dirty"
        case buildCommit = "build_commit"
        case buildDirty = "build_dirty"
    }

    /// Pretty JSON with sorted keys, so equal records give byte-identical files.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes `directory/<probe>.json` through a temporary file in the same directory and a
    /// rename, so a reader never sees a half-written file. Returns the final path.
    @discardableResult
    public func write(toDirectory directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("\(probe).json")
        try AtomicFile.write(try encoded(), to: path)
        return path
    }

    /// Reads and validates a metrics file.
    public static func read(path: String) throws -> MetricsRecord {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EvaluationError.invalidInput("\(path): cannot read metrics file: \(error.localizedDescription)")
        }
        let record: MetricsRecord
        do { record = try JSONDecoder().decode(MetricsRecord.self, from: data) } catch {
            throw EvaluationError.invalidInput("\(path): not a metrics file: \(error)")
        }
        guard record.schema == schemaName else {
            throw EvaluationError.invalidInput("\(path): field 'schema' is \(record.schema), expected \(schemaName)")
        }
        return record
    }
}
