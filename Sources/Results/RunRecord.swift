import Foundation

/// run.json (schema "patchbench.run/1"), reduced to what tables and provenance need; `config` is not decoded.
public struct RunFile: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.run/1"

    public struct DatasetInfo: Codable, Equatable, Sendable {
        public var path: String?
        public var name: String
        public var digest: String
    }

    public struct Provenance: Codable, Equatable, Sendable {
        /// The checkout's commit when the run started (budget files and the claims registry are read from it).
        public var gitCommit: String
        public var gitDirty: Bool
        /// The commit the binary was built from (`BuildStamp`), and whether tracked files
        /// differed from it then; nil in runs made before it was recorded.
        public var buildCommit: String?
        public var buildDirty: Bool?
        public var threads: Int
        /// OpenBLAS's configuration and kernel: float64 products only (the linear probe).
        public var blas: String
        /// The float32 GEMM's accumulation order (`FloatGEMM.order`), which the bits depend on;
        /// nil in runs made before PatchBench had its own GEMM (float32 then ran on OpenBLAS).
        public var gemmOrder: String?
        /// The float32 GEMM's code path (avx512f, avx2-fma, reference): speed only, never bits.
        public var gemmPath: String?
        public var machine: String
        public var swift: String
        public var wallSeconds: Double
        public var imagesSeen: Int
        public var encoderFlops: Double
        public var peakRssMib: Double
        /// The stretches of pretraining from a start or a resume to the checkpoint each ended on,
        /// in step order; nil in runs written before they were recorded, and in runs that do not
        /// train. `threads`, `machine` and `gemm_path` above are the last segment's.
        public var segments: [Segment]?

        /// One process's share of a pretraining run: steps `from_step` to `to_step` under one
        /// thread count, machine and GEMM path. `wall_seconds` counts up to that checkpoint
        /// (work after a run's last checkpoint is redone on resume and not counted). A segment
        /// that a binary from before segments were recorded ran has nil conditions.
        public struct Segment: Codable, Equatable, Sendable {
            public var fromStep: Int
            public var toStep: Int
            public var threads: Int?
            public var machine: String?
            public var gemmPath: String?
            public var wallSeconds: Double

            public init(fromStep: Int, toStep: Int, threads: Int?, machine: String?, gemmPath: String?, wallSeconds: Double) {
                self.fromStep = fromStep
                self.toStep = toStep
                self.threads = threads
                self.machine = machine
                self.gemmPath = gemmPath
                self.wallSeconds = wallSeconds
            }

            enum CodingKeys: String, CodingKey {
                case fromStep = "from_step"
                case toStep = "to_step"
                case threads, machine
                case gemmPath = "gemm_path"
                case wallSeconds = "wall_seconds"
            }

            /// "steps 0–2550: 1 thread(s), x86_64 AMD EPYC (family 25, model 17), 2 cores, GEMM avx512f".
            public var description: String {
                guard let threads, let machine else { return "steps \(fromStep)–\(toStep): conditions unrecorded" }
                return "steps \(fromStep)–\(toStep): \(threads) thread(s), \(machine), GEMM \(gemmPath ?? "unrecorded")"
            }
        }

        /// Whether the segments ran under more than one set of conditions (or one is unrecorded):
        /// such a run's images/s averages over them and measures none.
        public var hasMixedSegments: Bool {
            guard let segments, let first = segments.first else { return false }
            return segments.contains {
                $0.threads == nil || $0.machine == nil || $0.threads != first.threads || $0.machine != first.machine
                    || $0.gemmPath != first.gemmPath
            }
        }

        public init(gitCommit: String, gitDirty: Bool, buildCommit: String? = nil, buildDirty: Bool? = nil, threads: Int,
                    blas: String, gemmOrder: String? = nil, gemmPath: String? = nil, machine: String, swift: String,
                    wallSeconds: Double, imagesSeen: Int, encoderFlops: Double, peakRssMib: Double, segments: [Segment]? = nil) {
            self.gitCommit = gitCommit
            self.gitDirty = gitDirty
            self.buildCommit = buildCommit
            self.buildDirty = buildDirty
            self.threads = threads
            self.blas = blas
            self.gemmOrder = gemmOrder
            self.gemmPath = gemmPath
            self.machine = machine
            self.swift = swift
            self.wallSeconds = wallSeconds
            self.imagesSeen = imagesSeen
            self.encoderFlops = encoderFlops
            self.peakRssMib = peakRssMib
            self.segments = segments
        }

        enum CodingKeys: String, CodingKey {
            case gitCommit = "git_commit"
            case gitDirty = "git_dirty"
            case buildCommit = "build_commit"
            case buildDirty = "build_dirty"
            case threads, blas, machine, swift
            case gemmOrder = "gemm_order"
            case gemmPath = "gemm_path"
            case wallSeconds = "wall_seconds"
            case imagesSeen = "images_seen"
            case encoderFlops = "encoder_flops"
            case peakRssMib = "peak_rss_mib"
            case segments
        }

        /// Written by uncommitted code: the checkout or the binary's source had changes.
        public var uncommitted: Bool { gitDirty || buildDirty == true }
    }

    public var schema: String
    public var method: String
    public var budget: String
    public var seed: Int
    public var configHash: String
    public var dataset: DatasetInfo
    public var provenance: Provenance
    public var completed: Bool

    enum CodingKeys: String, CodingKey {
        case schema, method, budget, seed
        case configHash = "config_hash"
        case dataset, provenance, completed
    }
}

/// eval/<probe>.json (schema "patchbench.metrics/1"); `protocol` is not decoded.
public struct MetricsFile: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.metrics/1"

    public struct DatasetInfo: Codable, Equatable, Sendable {
        public var name: String
        public var digest: String
    }

    public struct EncoderInfo: Codable, Equatable, Sendable {
        public var method: String
        public var budget: String
        public var seed: Int
        public var configHash: String

        enum CodingKeys: String, CodingKey {
            case method, budget, seed
            case configHash = "config_hash"
        }
    }

    public var schema: String
    public var probe: String
    public var dataset: DatasetInfo
    public var encoder: EncoderInfo
    public var metrics: [String: Double]
    public var wallSeconds: Double
    public var threads: Int
    /// The evaluating checkout's commit and dirty flag (absent in older files).
    public var gitCommit: String?
    public var gitDirty: Bool?
    /// The commit the evaluating binary was built from and its dirty flag (absent in older files).
    public var buildCommit: String?
    public var buildDirty: Bool?

    /// Computed by uncommitted code: the binary's source had changes. An evaluation reads nothing
    /// from the checkout (the pack and the encoder are named on its command line and digested), so
    /// `git_dirty` only says what the working tree held beside it; files written before the build
    /// stamp was recorded fall back to it.
    public var uncommitted: Bool { buildDirty ?? (gitDirty == true) }
    /// Every setting of the probe as the eval file records it (absent in older files).
    public var settings: [String: JSONValue]?

    /// Where the linear probe stopped at the limits of its search, in words for the tables: the
    /// chosen C at an end of the grid (validation accuracy may rise further past it) and a refit
    /// that reached the iteration cap. Empty for the other probes and for files without these settings.
    public var probeLimits: [String] {
        guard probe == "linear", let settings, let chosen = metrics["C"] else { return [] }
        func number(_ value: JSONValue) -> Double? {
            switch value {
            case .number(let x): return x
            case .integer(let i): return Double(i)
            default: return nil
            }
        }
        var limits: [String] = []
        if case .array(let grid)? = settings["strengths"] {
            let values = grid.compactMap(number)
            let c = NumberFormatting.metric(chosen, probe: probe, metric: "C")
            if values.count > 1, chosen == values.max() { limits.append("C \(c) is the grid's largest") }
            if values.count > 1, chosen == values.min() { limits.append("C \(c) is the grid's smallest") }
        }
        if case .array(let iterations)? = settings["iterations"], let refit = iterations.last.flatMap(number),
           let cap = settings["max_iterations"].flatMap(number), refit >= cap
        {
            limits.append("the refit stopped at the \(Int(cap))-iteration cap")
        }
        return limits
    }

    /// `all` unless the evaluation used only part of a split (--train-limit / --test-limit).
    public var subset: String {
        if case .string(let subset)? = settings?["subset"] { return subset }
        return "all"
    }

    /// The settings a user can change for one arm and that change what is measured (the splits,
    /// the input normalisation, whether the readout came from the method table or was asked for,
    /// the dense probes' feature kind and head, det's area bins and centre radius, fine-tuning's
    /// subset, epochs and learning rate), as "key value" in this order; absent keys are left
    /// out. The method's own readout (CLS or pooled) and solver details are not among them.
    public var comparedSettings: [String] {
        guard let settings else { return [] }
        var compared: [String] = []
        for key in Self.comparedSettingKeys {
            guard var value = settings[key] else { continue }
            if key == "readout_source", case .string(let source) = value, source.hasPrefix("method table") {
                value = .string("method table")
            }
            if key == "normalization", case .object(let fields) = value, let name = fields["name"] { value = name }
            if key == "feature_kind", !Self.denseProbes.contains(probe) { continue }
            compared.append("\(key) \(value.compactText)")
        }
        return compared
    }

    static let comparedSettingKeys = [
        "train_split", "test_split", "normalization", "readout_source", "feature_kind", "head", "area_bins", "center_radius",
        "subset_size", "epochs", "base_learning_rate",
    ]
    /// Probes whose features are the patch grid for every method, so their feature kind is comparable.
    static let denseProbes: Set<String> = ["seg", "det", "patch-knn"]

    enum CodingKeys: String, CodingKey {
        case schema, probe, dataset, encoder, metrics
        case settings = "protocol"
        case wallSeconds = "wall_seconds"
        case threads
        case gitCommit = "git_commit"
        case gitDirty = "git_dirty"
        case buildCommit = "build_commit"
        case buildDirty = "build_dirty"
    }
}

/// One line of log.jsonl, reduced to the fields a loss curve needs.
public struct LogLine: Codable, Equatable, Sendable {
    public var step: Int
    public var imagesSeen: Int
    public var loss: Double

    enum CodingKeys: String, CodingKey {
        case step
        case imagesSeen = "images_seen"
        case loss
    }
}

/// Decoders that turn any malformed input into an error naming the file (and line, for log.jsonl).
public enum RunFileReader {
    static func readData(_ path: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ResultsError("\(path): cannot read: \(error.localizedDescription)")
        }
    }

    public static func readRun(_ path: String) throws -> RunFile {
        let run: RunFile
        do {
            run = try JSONDecoder().decode(RunFile.self, from: try readData(path))
        } catch let error as ResultsError {
            throw error
        } catch {
            throw ResultsError.decoding(error, file: path)
        }
        guard run.schema == RunFile.schemaName else {
            throw ResultsError("\(path): schema is '\(run.schema)', expected '\(RunFile.schemaName)'")
        }
        let provenance = run.provenance
        guard provenance.wallSeconds.isFinite, provenance.wallSeconds >= 0 else {
            throw ResultsError("\(path): provenance.wall_seconds must be a non-negative number")
        }
        guard provenance.imagesSeen >= 0 else {
            throw ResultsError("\(path): provenance.images_seen must be non-negative")
        }
        if let segments = provenance.segments {
            var next = 0
            for (i, segment) in segments.enumerated() {
                guard segment.fromStep == next, segment.toStep > segment.fromStep else {
                    throw ResultsError("\(path): provenance.segments[\(i)] runs from step \(segment.fromStep) to \(segment.toStep); "
                                       + "segments must follow each other from step 0, each at least one step long")
                }
                guard segment.wallSeconds.isFinite, segment.wallSeconds >= 0 else {
                    throw ResultsError("\(path): provenance.segments[\(i)].wall_seconds must be a non-negative number")
                }
                next = segment.toStep
            }
        }
        return run
    }

    public static func readMetrics(_ path: String) throws -> MetricsFile {
        let metrics: MetricsFile
        do {
            metrics = try JSONDecoder().decode(MetricsFile.self, from: try readData(path))
        } catch let error as ResultsError {
            throw error
        } catch {
            throw ResultsError.decoding(error, file: path)
        }
        guard metrics.schema == MetricsFile.schemaName else {
            throw ResultsError("\(path): schema is '\(metrics.schema)', expected '\(MetricsFile.schemaName)'")
        }
        guard ProbeMetricRegistry.evalProbes.contains(metrics.probe) else {
            throw ResultsError("\(path): unknown probe '\(metrics.probe)'")
        }
        for key in metrics.metrics.keys.sorted() where !metrics.metrics[key]!.isFinite {
            throw ResultsError("\(path): metric '\(key)' is not finite")
        }
        return metrics
    }

    /// Reads every non-empty line; a line that is not a JSON object with step, images_seen and loss is an error.
    public static func readLog(_ path: String) throws -> [LogLine] {
        let data = try readData(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ResultsError("\(path): not UTF-8 text")
        }
        var lines: [LogLine] = []
        let decoder = JSONDecoder()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                lines.append(try decoder.decode(LogLine.self, from: Data(trimmed.utf8)))
            } catch {
                throw ResultsError.decoding(error, file: "\(path) line \(index + 1)")
            }
        }
        return lines
    }
}
