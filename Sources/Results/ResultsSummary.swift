/// Per-seed metric values aggregated into table rows: one row per (budget, dataset, probe, method).
public struct MetricSummary: Equatable, Sendable {
    public var metric: String
    /// (seed, value), ascending seed.
    public var values: [(seed: Int, value: Double)]
    public var mean: Double
    /// Sample standard deviation (n − 1); nil for a single seed.
    public var standardDeviation: Double?

    public static func == (left: MetricSummary, right: MetricSummary) -> Bool {
        left.metric == right.metric && left.values.map(\.seed) == right.values.map(\.seed)
            && left.values.map(\.value) == right.values.map(\.value)
    }

    init(metric: String, values: [(seed: Int, value: Double)]) {
        precondition(!values.isEmpty, "a summary needs at least one value")
        self.metric = metric
        self.values = values
        let statistics = SampleStatistics.meanAndStandardDeviation(values.map(\.value))
        mean = statistics.mean
        standardDeviation = statistics.standardDeviation
    }
}

public struct TableRow: Equatable, Sendable {
    public var budget: String
    public var dataset: String
    public var probe: String
    public var method: String
    public var seeds: [Int]
    /// In the probe's display order, unknown keys after known ones alphabetically.
    public var metrics: [MetricSummary]
    /// The images the evaluations used, when not all (`first 6000 train / 2000 test images`);
    /// several when seeds differ.
    public var subsets: [String] = []
    /// Seeds whose linear probe stopped at its search's limits (`MetricsFile.probeLimits`), e.g.
    /// "seed 0: C 1e+04 is the grid's largest"; empty for the other probes.
    public var probeLimits: [String] = []
}

/// The key of one Markdown table.
public struct TableKey: Hashable, Comparable, Sendable {
    public var budget: String
    public var dataset: String
    public var probe: String

    public init(budget: String, dataset: String, probe: String) {
        self.budget = budget
        self.dataset = dataset
        self.probe = probe
    }

    public static func < (left: TableKey, right: TableKey) -> Bool {
        (left.budget, left.dataset, probeRank(left.probe), left.probe)
            < (right.budget, right.dataset, probeRank(right.probe), right.probe)
    }

    static func probeRank(_ probe: String) -> Int {
        ProbeMetricRegistry.metricsByProbe.firstIndex { $0.probe == probe } ?? Int.max
    }
}

public enum ResultsSummary {
    /// The untrained floor every method must beat (the method table's `random-init`); tables list
    /// it last so it reads as the bottom line.
    public static let floorMethod = "random-init"

    /// A floor: `random-init` or a floor of one encoder variant (`random-init-lomar`).
    public static func isFloor(_ method: String) -> Bool { method == floorMethod || method.hasPrefix(floorMethod + "-") }

    /// The reference rows beside the floor (Documentation/evaluation.md, "Reference rows"): the
    /// same ViT trained with labels (the upper end of the usable range) and the probes on pixels.
    public static let supervisedMethod = "supervised"
    public static let rawPixelsMethod = "raw-pixels"
    public static let constantClassMethod = "constant-class"
    public static let referenceMethods = [supervisedMethod, rawPixelsMethod, constantClassMethod]

    public static func isReference(_ method: String) -> Bool { referenceMethods.contains(method) }

    /// Methods in table order: the methods alphabetically, then the reference rows in
    /// `referenceMethods` order, then the random-init floors.
    public static func methodOrder(_ left: String, _ right: String) -> Bool {
        func rank(_ method: String) -> Int { isFloor(method) ? 2 : isReference(method) ? 1 : 0 }
        if rank(left) != rank(right) { return rank(left) < rank(right) }
        if isReference(left) { return referenceMethods.firstIndex(of: left)! < referenceMethods.firstIndex(of: right)! }
        return left < right
    }

    /// Every row, sorted by table key and method.
    public static func rows(_ collection: RunCollection) -> [TableRow] {
        // (table key, method) → seed-ordered (seed, metric key, value) triples; runs are already seed-sorted.
        var entries: [TableKey: [String: [(seed: Int, key: String, value: Double)]]] = [:]
        var subsets: [TableKey: [String: [String]]] = [:]
        var limits: [TableKey: [String: [String]]] = [:]
        for run in collection.runs {
            var sources: [(probe: String, dataset: String, metrics: [(key: String, value: Double)])] = []
            for evaluation in run.evaluations {
                // Undefined values (COCO's −1) stay out of every mean.
                let metrics = evaluation.metrics.keys.sorted().map { (key: $0, value: evaluation.metrics[$0]!) }
                    .filter { !ProbeMetricRegistry.isUndefined(probe: evaluation.probe, value: $0.value) }
                sources.append((evaluation.probe, evaluation.dataset.name, metrics))
                let key = TableKey(budget: run.budget, dataset: evaluation.dataset.name, probe: evaluation.probe)
                if evaluation.subset != "all", !(subsets[key]?[run.method] ?? []).contains(evaluation.subset) {
                    subsets[key, default: [:]][run.method, default: []].append(evaluation.subset)
                }
                let probeLimits = evaluation.probeLimits
                if !probeLimits.isEmpty {
                    limits[key, default: [:]][run.method, default: []].append("seed \(run.seed): " + probeLimits.joined(separator: ", "))
                }
            }
            let pretrain = run.pretrainMetrics
            if !pretrain.isEmpty { sources.append((ProbeMetricRegistry.pretrainProbe, run.run.dataset.name, pretrain)) }
            for source in sources {
                let key = TableKey(budget: run.budget, dataset: source.dataset, probe: source.probe)
                for metric in source.metrics {
                    entries[key, default: [:]][run.method, default: []].append((run.seed, metric.key, metric.value))
                }
            }
        }
        var rows: [TableRow] = []
        for key in entries.keys.sorted() {
            let byMethod = entries[key]!
            for method in byMethod.keys.sorted(by: methodOrder) {
                let triples = byMethod[method]!
                let metricKeys = Array(Set(triples.map(\.key))).sorted { left, right in
                    let (l, r) = (ProbeMetricRegistry.displayRank(probe: key.probe, metric: left),
                        ProbeMetricRegistry.displayRank(probe: key.probe, metric: right))
                    return l != r ? l < r : left < right
                }
                let summaries = metricKeys.map { metric in
                    MetricSummary(
                        metric: metric,
                        values: triples.filter { $0.key == metric }.map { (seed: $0.seed, value: $0.value) }
                            .sorted { $0.seed < $1.seed })
                }
                let seeds = Array(Set(triples.map(\.seed))).sorted()
                rows.append(
                    TableRow(budget: key.budget, dataset: key.dataset, probe: key.probe, method: method, seeds: seeds,
                        metrics: summaries, subsets: (subsets[key]?[method] ?? []).sorted(),
                        probeLimits: limits[key]?[method] ?? []))
            }
        }
        return rows
    }
}
