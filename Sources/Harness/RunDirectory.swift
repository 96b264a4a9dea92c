import Foundation
import HDF5Kit
import Layers
import Objectives
import Results
import SafeIO

/// What a run is, exactly: the budget as read, the method and its settings, the encoder and
/// the data. Its canonical JSON (sorted snake_case keys) is hashed into `config_hash`; the
/// seed, threads and checkpoint frequency are not part of it.
public struct ResolvedConfig: Codable, Equatable, Sendable {
    public struct DataReference: Codable, Equatable, Sendable {
        public var pack: String
        public var split: String
    }
    public var method: String
    public var budget: Budget
    public var encoder: ViTConfig
    /// The method's settings as it runs them (its budget block over its defaults); nil for
    /// random-init.
    public var settings: JSONValue?
    public var data: DataReference
    public var learningRate: Double
    public var totalSteps: Int

    /// `budget` is recorded without its `methods` blocks: the run's own settings are `settings`,
    /// so editing another method's block does not change this run's hash. Nor are its `notes`
    /// recorded: they are prose about the budget, and correcting them changes no run.
    public init(method: Method, resolved: Method.Resolved, budget: Budget, dataPath: String) {
        self.method = method.name
        var ownBudget = budget
        ownBudget.methods = [:]
        ownBudget.notes = []
        self.budget = ownBudget
        encoder = resolved.encoder
        settings = resolved.settings
        data = DataReference(pack: dataPath, split: budget.data.split)
        learningRate = budget.learningRate
        totalSteps = resolved.makeObjective == nil ? 0 : budget.totalSteps
    }

    public var canonicalJSON: Data { (try? Budget.encoderJSON.encode(self)) ?? Data() }

    public var hash: String {
        let h = SHA256Hasher()
        h.update(Array(canonicalJSON))
        return h.finalize()
    }
}

/// run.json, schema "patchbench.run/1" (Documentation/run-layout.md).
public struct RunManifest: Codable, Sendable {
    public static let schemaName = "patchbench.run/1"
    public struct DatasetInfo: Codable, Sendable {
        public var path: String
        public var name: String
        public var digest: String
    }
    public var schema = RunManifest.schemaName
    public var method: String
    public var budget: String
    public var seed: Int
    public var config: ResolvedConfig
    public var configHash: String
    public var dataset: DatasetInfo
    public var provenance: Provenance
    public var checkpointEvery: Int
    public var completed: Bool
    /// The AdamW constants the run used: the budget's `optimizer` β₁, β₂, ε, or its method's
    /// authors' where they differ (`Objective.adam`). Absent for runs without training and in
    /// run files written before it was recorded.
    public var adam: AdamSettings? = nil
}

/// The files of one run directory: runs/<budget>/<method>/seed<k>/.
public struct RunDirectory: Sendable {
    public static let runFile = "run.json"
    public static let logFile = "log.jsonl"
    /// The same lines as CSV for spreadsheets and plotting tools (TensorBoard's event format needs
    /// a protobuf and CRC32C writer that no package here provides; CSV needs none).
    public static let csvLogFile = "log.csv"
    static let csvColumns = ["step", "images_seen", "loss", "lr", "images_per_sec", "wall_seconds"]
    public static let encoderFile = "encoder.h5"
    public static let checkpointsFolder = "checkpoints"

    public let path: String
    public init(path: String) { self.path = path }

    public static func defaultPath(budget: String, method: String, seed: UInt64) -> String {
        "runs/\(budget)/\(method)/seed\(seed)"
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    public var runJSON: String { file(Self.runFile) }
    public var log: String { file(Self.logFile) }
    public var csvLog: String { file(Self.csvLogFile) }
    public var encoder: String { file(Self.encoderFile) }
    public var checkpoints: String { file(Self.checkpointsFolder) }
    public func checkpoint(step: Int) -> String { (checkpoints as NSString).appendingPathComponent("step-\(step).h5") }

    /// Creates the run directory and its checkpoints folder, or says why it cannot.
    public func create() throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
            throw HarnessError("\(path): is a file, not a run directory; choose another --out")
        }
        do { try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true) } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw HarnessError("\(path): cannot create the run directory (\(reason))")
        }
    }

    /// Creates the directory and locks it for this process's writing, so a second `pretrain` on
    /// the same directory is refused instead of interleaving its log and checkpoints. The lock
    /// lasts as long as the returned object (and ends with the process, however it ends).
    public func createAndLock() throws -> DirectoryLock {
        try create()
        do { return try DirectoryLock(folder: path, purpose: "pretraining into this run directory") }
        catch let error as SafeIOError { throw HarnessError(error.description) }
    }

    /// The completed state and hash of an existing run.json, nil when there is none.
    public func existingStatus() throws -> (configHash: String, completed: Bool)? {
        guard FileManager.default.fileExists(atPath: runJSON) else { return nil }
        struct Status: Decodable {
            var config_hash: String
            var completed: Bool
        }
        do {
            let s = try JSONDecoder().decode(Status.self, from: Data(contentsOf: URL(fileURLWithPath: runJSON)))
            return (s.config_hash, s.completed)
        } catch {
            throw HarnessError("\(runJSON): unreadable run file: \(HarnessError.describe(error))")
        }
    }

    /// Steps of the checkpoints present, ascending.
    public func checkpointSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("step-"), name.hasSuffix(".h5") else { return nil }
            return Int(name.dropFirst(5).dropLast(3))
        }.sorted()
    }

    public func writeManifest(_ manifest: RunManifest) throws {
        let encoder = Budget.encoderJSON
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try Self.writeAtomically(try encoder.encode(manifest), to: runJSON)
    }

    /// Keeps only the log lines of steps ≤ `step` (a resumed run rewrites what follows).
    public func truncateLog(after step: Int) throws {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return }
        var kept: [Substring] = []
        let lines = text.split(separator: "\n")
        for (number, line) in lines.enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = object["step"] as? Int else {
                // A kill in the middle of an append leaves a partial last line: drop it.
                if number == lines.count - 1 && !text.hasSuffix("\n") { continue }
                throw HarnessError("\(log): line \(number + 1) is not a log object with a step")
            }
            if s <= step { kept.append(line) }
        }
        try Self.writeAtomically(Data(kept.map { $0 + "\n" }.joined().utf8), to: log)
        let objects = kept.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        var csv = objects.first.map { Self.csvHeader($0) } ?? ""
        for object in objects { csv += Self.csvLine(object) }
        try Self.writeAtomically(Data(csv.utf8), to: csvLog)
    }

    /// step, images_seen, loss, lr, images_per_sec, wall_seconds, then `term.<name>` per loss term.
    static func csvHeader(_ object: [String: Any]) -> String {
        let terms = ((object["terms"] as? [String: Any]) ?? [:]).keys.sorted().map { "term." + $0 }
        return (csvColumns + terms).joined(separator: ",") + "\n"
    }

    static func csvLine(_ object: [String: Any]) -> String {
        func text(_ value: Any?) -> String {
            guard let number = value as? NSNumber else { return "" }
            let d = number.doubleValue
            return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
        }
        let terms = (object["terms"] as? [String: Any]) ?? [:]
        let cells = csvColumns.map { text(object[$0]) } + terms.keys.sorted().map { text(terms[$0]) }
        return cells.joined(separator: ",") + "\n"
    }

    /// Appends one JSON object (sorted keys) as a line, and its CSV row.
    public func appendLog(_ object: [String: Any]) throws {
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        data.append(0x0A)
        try Self.append(data, to: log)
        try appendCSV(object)
    }

    func appendCSV(_ object: [String: Any]) throws {
        let line = Self.csvLine(object)
        let header = FileManager.default.fileExists(atPath: csvLog) ? "" : Self.csvHeader(object)
        try Self.append(Data((header + line).utf8), to: csvLog)
    }

    static func append(_ data: Data, to path: String) throws {
        do { try AppendOnlyFile.append(data, to: path) } catch let error as SafeIOError { throw HarnessError(error.description) }
    }

    /// Writes through a temporary file in the same folder, checked, fsynced, then renamed.
    static func writeAtomically(_ data: Data, to path: String) throws {
        do { try AtomicFile.write(data, to: path) } catch let error as SafeIOError { throw HarnessError(error.description) }
    }
}
