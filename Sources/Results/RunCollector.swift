import Foundation

/// One completed run directory, runs/<budget>/<method>/seed<k>/, with its eval files and log.
public struct CollectedRun: Equatable, Sendable {
    public var budget: String
    public var method: String
    public var seed: Int
    /// Path relative to the runs root, e.g. "tiny/mae/seed0", so outputs do not depend on where runs/ lives.
    public var relativePath: String
    public var run: RunFile
    /// Sorted by probe name.
    public var evaluations: [MetricsFile]
    public var log: [LogLine]

    /// Numbers of the `pretrain` pseudo-probe, derived from run.json and log.jsonl; sorted by key.
    public var pretrainMetrics: [(key: String, value: Double)] {
        var metrics: [(key: String, value: Double)] = []
        if let last = log.last { metrics.append((ProbeMetricRegistry.finalLoss, last.loss)) }
        let provenance = run.provenance
        if provenance.imagesSeen > 0 && provenance.wallSeconds > 0 {
            metrics.append((ProbeMetricRegistry.imagesPerSecond, Double(provenance.imagesSeen) / provenance.wallSeconds))
        }
        return metrics
    }

    /// What two arms' values of a probe's metric must share to be compared seed by seed, as
    /// "key value" items: the dataset, the images used (`subset`) and the settings a user can
    /// change for one arm (`MetricsFile.comparedSettings`); for pretraining throughput the
    /// machine, the thread count and the GEMM path instead (claims.md: speed runs on the same
    /// machine and threads), or every segment's where a resumed run changed them, so that it
    /// pairs with nothing. nil when the run has no such value.
    public func conditions(probe: String, metric: String) -> [String]? {
        guard let pack = pack(probe: probe) else { return nil }
        if probe == ProbeMetricRegistry.pretrainProbe {
            guard metric == ProbeMetricRegistry.imagesPerSecond else { return ["dataset \(pack)"] }
            let p = run.provenance
            if p.hasMixedSegments, let segments = p.segments {
                return ["dataset \(pack)", "resumed under other conditions (" + segments.map(\.description).joined(separator: "; ") + ")"]
            }
            return ["dataset \(pack)", p.machine, "\(p.threads) thread(s)", "GEMM \(p.gemmPath ?? "unrecorded")"]
        }
        guard let evaluation = evaluations.first(where: { $0.probe == probe }) else { return nil }
        return ["dataset \(pack)", "images \(evaluation.subset)"] + evaluation.comparedSettings
    }

    /// The pack a probe was measured on: the eval file's dataset, run.json's for `pretrain`; nil
    /// when the probe has no file.
    public func pack(probe: String) -> String? {
        probe == ProbeMetricRegistry.pretrainProbe ? run.dataset.name
            : evaluations.first { $0.probe == probe }?.dataset.name
    }

    /// The value of a probe's metric, optionally only when the probe ran on the named dataset.
    public func value(probe: String, metric: String, dataset: String? = nil) -> Double? {
        if probe == ProbeMetricRegistry.pretrainProbe {
            if let dataset, dataset != run.dataset.name { return nil }
            return pretrainMetrics.first { $0.key == metric }?.value
        }
        guard let evaluation = evaluations.first(where: { $0.probe == probe }) else { return nil }
        if let dataset, dataset != evaluation.dataset.name { return nil }
        guard let value = evaluation.metrics[metric], !ProbeMetricRegistry.isUndefined(probe: probe, value: value) else {
            return nil
        }
        return value
    }
}

/// A seed directory that was not used, and why (shown in provenance so nothing disappears silently).
public struct SkippedRun: Equatable, Sendable {
    public var relativePath: String
    public var reason: String

    public init(relativePath: String, reason: String) {
        self.relativePath = relativePath
        self.reason = reason
    }
}

public struct RunCollection: Equatable, Sendable {
    /// Sorted by budget, method, seed.
    public var runs: [CollectedRun]
    public var skipped: [SkippedRun]
    /// `patchbench speed` files (runs/speed/*.json), sorted by budget.
    public var speed: [SpeedFile] = []

    public var budgets: [String] { Array(Set(runs.map(\.budget))).sorted() }

    public func runs(budget: String, method: String) -> [CollectedRun] {
        runs.filter { $0.budget == budget && $0.method == method }
    }

    /// seed → value for one method's metric in one budget.
    public func values(budget: String, method: String, probe: String, metric: String, dataset: String?)
        -> [Int: Double]
    {
        var values: [Int: Double] = [:]
        for run in runs(budget: budget, method: method) {
            if let value = run.value(probe: probe, metric: metric, dataset: dataset) { values[run.seed] = value }
        }
        return values
    }

    /// Both arms' values, with every seed whose conditions (`CollectedRun.conditions`) differ
    /// between the arms taken out of the baseline's (so it cannot pair), and a sentence per such seed.
    public func comparableValues(budget: String, method: String, baseline: String, probe: String, metric: String,
                                 dataset: String?) -> (method: [Int: Double], baseline: [Int: Double], mismatches: [String]) {
        func measured(_ name: String) -> [Int: (value: Double, conditions: [String]?)] {
            var measured: [Int: (value: Double, conditions: [String]?)] = [:]
            for run in runs(budget: budget, method: name) {
                if let value = run.value(probe: probe, metric: metric, dataset: dataset) {
                    measured[run.seed] = (value, run.conditions(probe: probe, metric: metric))
                }
            }
            return measured
        }
        // Only what differs, so the reason stays readable.
        func differing(_ own: [String]?, _ other: [String]?) -> String {
            guard let own else { return "unrecorded" }
            let only = own.filter { !(other ?? []).contains($0) }
            return only.isEmpty ? "(not recorded)" : only.joined(separator: ", ")
        }
        let methodMeasured = measured(method), baselineMeasured = measured(baseline)
        var baselineValues = baselineMeasured.mapValues(\.value)
        var mismatches: [String] = []
        for (seed, m) in methodMeasured.sorted(by: { $0.key < $1.key }) {
            guard let b = baselineMeasured[seed], m.conditions != b.conditions else { continue }
            baselineValues[seed] = nil
            mismatches.append("seed \(seed) not compared: \(method) \(differing(m.conditions, b.conditions)) vs "
                              + "\(baseline) \(differing(b.conditions, m.conditions))")
        }
        return (methodMeasured.mapValues(\.value), baselineValues, mismatches)
    }

    /// round → images/s of `method` at `grid` in the budget's speed file that times `method`
    /// against `baseline` (see `SpeedFile`).
    public func speedValues(budget: String, method: String, baseline: String, grid: Int, of name: String) -> [Int: Double] {
        speed.first { $0.budget == budget && $0.methods == SpeedFile.Methods(method: method, baseline: baseline) }?
            .values(method: name, grid: grid) ?? [:]
    }
}

/// Walks runs/<budget>/<method>/seed<k>/ and cross-checks every file against its directory.
public enum RunCollector {
    static let runFileName = "run.json"
    static let logFileName = "log.jsonl"
    static let evalDirectoryName = "eval"
    /// runs/speed/: `patchbench speed` files, not a budget.
    static let speedDirectoryName = "speed"

    /// Every budget's runs and speed files, or with `budget` only `root/<budget>/` and that
    /// budget's speed files (`<budget>.json`, `<budget>-<method>.json`), so a bad file of another
    /// budget cannot stop its tables. Two speed files timing the same pair in one budget are
    /// refused, naming both.
    public static func collect(root: String, budget only: String? = nil) throws -> RunCollection {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ResultsError("\(root): runs directory does not exist")
        }
        var runs: [CollectedRun] = []
        var skipped: [SkippedRun] = []
        for budget in try subdirectories(of: root) where budget != speedDirectoryName && (only == nil || budget == only) {
            let budgetPath = root + "/" + budget
            for method in try subdirectories(of: budgetPath) {
                let methodPath = budgetPath + "/" + method
                var seeds: [(seed: Int, name: String)] = []
                for name in try subdirectories(of: methodPath) where name.hasPrefix("seed") {
                    guard let seed = Int(name.dropFirst(4)), seed >= 0 else {
                        throw ResultsError("\(methodPath)/\(name): seed directory name is not seed<k>")
                    }
                    seeds.append((seed, name))
                }
                for (seed, name) in seeds.sorted(by: { $0.seed < $1.seed }) {
                    let relative = "\(budget)/\(method)/\(name)"
                    let path = root + "/" + relative
                    if let run = try collectRun(path: path, relative: relative, budget: budget, method: method, seed: seed,
                        skipped: &skipped)
                    {
                        runs.append(run)
                    }
                }
            }
        }
        var speed: [SpeedFile] = []
        let speedPath = root + "/" + speedDirectoryName
        if fileManager.fileExists(atPath: speedPath, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = try fileManager.contentsOfDirectory(atPath: speedPath).filter { name in
                name.hasSuffix(".json") && (only.map { name == "\($0).json" || name.hasPrefix("\($0)-") } ?? true)
            }.sorted()
            var timed: [String: String] = [:]
            for name in names {
                let file = try SpeedFile.read(speedPath + "/" + name)
                if let only, file.budget != only { continue }
                let pair = "\(file.budget): \(file.methods.method) against \(file.methods.baseline)"
                if let first = timed[pair] {
                    throw ResultsError("\(speedPath)/\(name): times \(pair), as \(speedPath)/\(first) does; keep one of the two")
                }
                timed[pair] = name
                speed.append(file)
            }
        }
        return RunCollection(runs: runs, skipped: skipped, speed: speed.sorted { $0.budget < $1.budget })
    }

    static func collectRun(
        path: String, relative: String, budget: String, method: String, seed: Int, skipped: inout [SkippedRun]
    ) throws -> CollectedRun? {
        let fileManager = FileManager.default
        let runPath = path + "/" + runFileName
        guard fileManager.fileExists(atPath: runPath) else {
            skipped.append(SkippedRun(relativePath: relative, reason: "no run.json"))
            return nil
        }
        let run = try RunFileReader.readRun(runPath)
        guard run.method == method, run.budget == budget, run.seed == seed else {
            throw ResultsError("\(runPath): says method '\(run.method)', budget '\(run.budget)', seed \(run.seed), "
                + "but lies in \(relative)")
        }
        guard run.completed else {
            skipped.append(SkippedRun(relativePath: relative, reason: "run.json has completed = false"))
            return nil
        }
        var evaluations: [MetricsFile] = []
        let evalPath = path + "/" + evalDirectoryName
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: evalPath, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = try fileManager.contentsOfDirectory(atPath: evalPath).filter { $0.hasSuffix(".json") }.sorted()
            for name in names {
                let filePath = evalPath + "/" + name
                let metrics = try RunFileReader.readMetrics(filePath)
                let stem = String(name.dropLast(5))
                guard metrics.probe == stem else {
                    throw ResultsError("\(filePath): probe is '\(metrics.probe)' but the file is named \(name)")
                }
                let encoder = metrics.encoder
                guard encoder.method == method, encoder.budget == budget, encoder.seed == seed else {
                    throw ResultsError("\(filePath): encoder is \(encoder.method)/\(encoder.budget)/seed\(encoder.seed), "
                        + "but the file lies in \(relative)")
                }
                guard encoder.configHash == run.configHash else {
                    throw ResultsError("\(filePath): encoder.config_hash \(encoder.configHash) differs from run.json's "
                        + "\(run.configHash) (stale evaluation?)")
                }
                evaluations.append(metrics)
            }
        }
        let logPath = path + "/" + logFileName
        let log = fileManager.fileExists(atPath: logPath) ? try RunFileReader.readLog(logPath) : []
        return CollectedRun(
            budget: budget, method: method, seed: seed, relativePath: relative, run: run, evaluations: evaluations,
            log: log)
    }

    /// Visible subdirectory names, sorted.
    static func subdirectories(of path: String) throws -> [String] {
        let fileManager = FileManager.default
        let names: [String]
        do {
            names = try fileManager.contentsOfDirectory(atPath: path)
        } catch {
            throw ResultsError("\(path): cannot list directory: \(error.localizedDescription)")
        }
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && fileManager.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }
}
