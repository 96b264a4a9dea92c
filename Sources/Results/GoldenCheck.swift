import Foundation

/// Compares fresh runs with a golden file, and makes golden files from runs.
public enum GoldenCheck {
    public struct Report: Equatable, Sendable {
        /// One line per failing number; empty means the check passed.
        public var failures: [String]
        /// Environment remarks (bitwise fallbacks) and numbers present in runs but not in the golden.
        public var notes: [String]
        public var checkedCount: Int

        public var passed: Bool { failures.isEmpty }
    }

    /// The environment of a budget's fresh runs: OPENBLAS_CORETYPE from the process; threads, BLAS and the
    /// float32 GEMM order from run.json.
    public static func environment(of collection: RunCollection, budget: String, openblasCoretype: String?)
        -> GoldenFile.Environment
    {
        let runs = collection.runs.filter { $0.budget == budget }
        let threads = Set(runs.map(\.run.provenance.threads))
        let blas = Set(runs.map(\.run.provenance.blas))
        let orders = Set(runs.map(\.run.provenance.gemmOrder))
        return GoldenFile.Environment(
            openblasCoretype: openblasCoretype, threads: threads.count == 1 ? threads.first : nil,
            blas: blas.count == 1 ? blas.first : nil, gemmOrder: orders.count == 1 ? orders.first! : nil)
    }

    /// Every golden-able number of a budget's runs: eval metrics and the final loss (not throughput, which is timing).
    static func measuredEntries(_ collection: RunCollection, budget: String)
        -> [(method: String, seed: Int, probe: String, metric: String, value: Double, subset: String?)]
    {
        var entries: [(method: String, seed: Int, probe: String, metric: String, value: Double, subset: String?)] = []
        for run in collection.runs where run.budget == budget {
            for evaluation in run.evaluations {
                for key in evaluation.metrics.keys.sorted() {
                    entries.append((run.method, run.seed, evaluation.probe, key, evaluation.metrics[key]!, evaluation.subset))
                }
            }
            if let last = run.log.last {
                entries.append((run.method, run.seed, ProbeMetricRegistry.pretrainProbe, ProbeMetricRegistry.finalLoss,
                    last.loss, nil))
            }
        }
        return entries.sorted { ($0.method, $0.seed, $0.probe, $0.metric) < ($1.method, $1.seed, $1.probe, $1.metric) }
    }

    public static func check(_ golden: GoldenFile, against collection: RunCollection,
        environment current: GoldenFile.Environment) -> Report
    {
        var report = Report(failures: [], notes: [], checkedCount: 0)
        let recorded = golden.environment
        // What every number depends on: the float32 GEMM's order and the thread count (the CPU
        // and its GEMM path do not matter).
        var mismatches: [String] = []
        if recorded.gemmOrder != current.gemmOrder {
            mismatches.append("float32 GEMM order \(recorded.gemmOrder ?? "OpenBLAS or mixed") → "
                + "\(current.gemmOrder ?? "OpenBLAS or mixed")")
        }
        if recorded.threads != current.threads {
            let (old, new) = (recorded.threads.map(String.init) ?? "mixed", current.threads.map(String.init) ?? "mixed")
            mismatches.append("threads \(old) → \(new)")
        }
        // What float64 OpenBLAS probes also depend on: its kernel.
        var blasMismatches: [String] = []
        if recorded.openblasCoretype != current.openblasCoretype {
            let (old, new) = (recorded.openblasCoretype ?? "unset", current.openblasCoretype ?? "unset")
            blasMismatches.append("OPENBLAS_CORETYPE \(old) → \(new)")
        }
        if recorded.blas != current.blas {
            blasMismatches.append("BLAS '\(recorded.blas ?? "mixed")' → '\(current.blas ?? "mixed")'")
        }
        func exactAllowed(_ entry: GoldenFile.Entry) -> Bool {
            mismatches.isEmpty && (blasMismatches.isEmpty || !ProbeMetricRegistry.float64BLASProbes.contains(entry.probe))
        }
        if !mismatches.isEmpty && golden.entries.contains(where: \.bitwise) {
            report.notes.append("environment differs from the golden's (" + mismatches.joined(separator: "; ")
                + "): bitwise entries fall back to their tolerance")
        } else if !blasMismatches.isEmpty,
            golden.entries.contains(where: { $0.bitwise && ProbeMetricRegistry.float64BLASProbes.contains($0.probe) })
        {
            let probes = ProbeMetricRegistry.float64BLASProbes.sorted().joined(separator: ", ")
            report.notes.append("OpenBLAS differs from the golden's (" + blasMismatches.joined(separator: "; ")
                + "): bitwise entries of the float64 probes (\(probes)) fall back to their tolerance; "
                + "every other entry still compares bitwise")
        }
        let measured = measuredEntries(collection, budget: golden.budget)
        func find(_ entry: GoldenFile.Entry) -> (value: Double, subset: String?)? {
            measured.first {
                $0.method == entry.method && $0.seed == entry.seed && $0.probe == entry.probe && $0.metric == entry.metric
            }.map { ($0.value, $0.subset) }
        }
        for entry in golden.entries {
            let where_ = "\(golden.budget)/\(entry.label)"
            guard let (value, subset) = find(entry) else {
                report.failures.append("\(where_): missing from the runs (golden \(entry.value) ± \(entry.tolerance))")
                continue
            }
            report.checkedCount += 1
            if let goldenSubset = entry.subset, let subset, goldenSubset != subset {
                report.failures.append("\(where_): protocol mismatch, not a measured difference: evaluated on \(subset), "
                    + "the golden on \(goldenSubset) (use the golden's --train-limit / --test-limit)")
                continue
            }
            if entry.bitwise && exactAllowed(entry) {
                if GoldenFile.bits(value) != entry.valueBits {
                    report.failures.append("\(where_): measured \(value) (\(GoldenFile.bits(value))) is not bit-identical "
                        + "to golden \(entry.value) (\(entry.valueBits)); tolerance \(entry.tolerance) not used because "
                        + "the environment matches")
                }
            } else if !(abs(value - entry.value) <= entry.tolerance) {
                report.failures.append("\(where_): measured \(value) differs from golden \(entry.value) by "
                    + "\(abs(value - entry.value)), more than the tolerance \(entry.tolerance)")
            }
        }
        for item in measured {
            let known = golden.entries.contains {
                $0.method == item.method && $0.seed == item.seed && $0.probe == item.probe && $0.metric == item.metric
            }
            if !known {
                report.notes.append("\(golden.budget)/\(item.method)/seed\(item.seed) \(item.probe)/\(item.metric) = "
                    + "\(item.value) is not in the golden file (not checked)")
            }
        }
        return report
    }

    /// A golden file from the runs of one budget. Entries already in `previous` keep their tolerance and bitwise
    /// flag; new ones get `tolerance` (or `lossTolerance` for the final loss) and `bitwise`.
    public static func makeGolden(
        from collection: RunCollection, budget: String, environment: GoldenFile.Environment, tolerance: Double,
        lossTolerance: Double, bitwise: Bool, previous: GoldenFile?
    ) throws -> GoldenFile {
        let measured = measuredEntries(collection, budget: budget)
        guard !measured.isEmpty else {
            throw ResultsError("no completed runs with numbers for budget '\(budget)'")
        }
        let entries = measured.map { item -> GoldenFile.Entry in
            let old = previous?.entries.first {
                $0.method == item.method && $0.seed == item.seed && $0.probe == item.probe && $0.metric == item.metric
            }
            let isLoss = item.probe == ProbeMetricRegistry.pretrainProbe
            return GoldenFile.Entry(
                method: item.method, seed: item.seed, probe: item.probe, metric: item.metric, value: item.value,
                valueBits: GoldenFile.bits(item.value), tolerance: old?.tolerance ?? (isLoss ? lossTolerance : tolerance),
                bitwise: old?.bitwise ?? bitwise, subset: item.subset)
        }
        return GoldenFile(schema: GoldenFile.schemaName, budget: budget, environment: environment, entries: entries)
    }
}
