/// Everything `patchbench tables` writes into results/v<N>/, as (relative path, content) pairs in a fixed order.
/// Built from the runs and claims only — no clock, no host name, no dictionary order — so it is byte-identical
/// for identical inputs.
public enum ResultsBundle {
    public static let schemaName = "patchbench.results/1"

    /// `floors`: each method's untrained floor by name (`MarkdownTables.render`).
    public static func build(collection: RunCollection, claims: ClaimsFile, version: Int, floors: [String: String])
        -> [(path: String, content: String)]
    {
        var files: [(path: String, content: String)] = []
        let rows = ResultsSummary.rows(collection)
        var tableKeys: [TableKey] = []
        for row in rows {
            let key = TableKey(budget: row.budget, dataset: row.dataset, probe: row.probe)
            if tableKeys.last != key { tableKeys.append(key) }
        }
        for key in tableKeys {
            let tableRows = rows.filter { $0.budget == key.budget && $0.dataset == key.dataset && $0.probe == key.probe }
            files.append((MarkdownTables.relativePath(key), MarkdownTables.render(key: key, rows: tableRows, floors: floors)))
        }
        let budgets = collection.budgets
        let claimResults = budgets.map { budget in
            (budget: budget, results: ClaimsEvaluator.evaluate(claims, runs: collection, budget: budget))
        }
        files.append(("claims.md", ClaimsReport.markdown(claimResults)))
        files.append(("resolution.md", ResolutionReport.markdown(collection: collection, claimResults: claimResults)))
        files.append(("provenance.md", ProvenanceReport.markdown(collection)))
        files.append(("provenance.json", ProvenanceReport.json(collection).canonicalText()))
        files.append(("results.json", resultsJSON(rows: rows, claimResults: claimResults, version: version)))
        for (budget, results) in claimResults {
            let name = MarkdownTables.safeComponent(budget)
            for (metric, plot) in ClaimsReport.deltaPlots(budget: budget, results: results) {
                files.append(("plots/claims-\(name)-\(MarkdownTables.safeComponent(metric)).svg", plot))
            }
            files.append(("plots/speed-\(name).svg", ClaimsReport.speedPlot(budget: budget, results: results)))
            let methods = Array(Set(collection.runs.filter { $0.budget == budget }.map(\.method)))
                .sorted(by: ResultsSummary.methodOrder)
            for method in methods {
                let runs = collection.runs(budget: budget, method: method).filter { !$0.log.isEmpty }
                if runs.isEmpty { continue }
                // A moving average over about 1/50 of the logged steps.
                let series = runs.map { run in
                    SVGPlot.Series(label: "seed \(run.seed)",
                                   points: SVGPlot.smoothed(run.log.map { (x: Double($0.imagesSeen), y: $0.loss) },
                                                            window: max(1, run.log.count / 50)))
                }
                let plot = SVGPlot.linePlot(
                    title: "\(method) pretraining loss (\(budget)), moving average", xLabel: "images seen", yLabel: "loss",
                    series: series, xTickLabel: SVGPlot.countLabel)
                files.append(("plots/loss-\(name)-\(MarkdownTables.safeComponent(method)).svg", plot))
            }
        }
        files.append(("README.md", index(files: files, version: version, claimResults: claimResults)))
        return files.sorted { $0.path < $1.path }
    }

    static func resultsJSON(rows: [TableRow], claimResults: [(budget: String, results: [ClaimResult])], version: Int)
        -> String
    {
        let rowValues: [JSONValue] = rows.map { row in
            var metrics: [String: JSONValue] = [:]
            for summary in row.metrics {
                metrics[summary.metric] = .object([
                    "mean": .number(summary.mean), "std": .optional(summary.standardDeviation),
                    "n": .integer(summary.values.count),
                    "values": .array(
                        summary.values.map { .object(["seed": .integer($0.seed), "value": .number($0.value)]) }),
                ])
            }
            var fields: [String: JSONValue] = [
                "budget": .string(row.budget), "dataset": .string(row.dataset), "probe": .string(row.probe),
                "method": .string(row.method), "seeds": .array(row.seeds.map { .integer($0) }),
                "subsets": .array(row.subsets.map { .string($0) }),
                "metrics": .object(metrics),
            ]
            // Only where a seed's probe stopped at its limits, so other rows read as before.
            if !row.probeLimits.isEmpty { fields["probe_limits"] = .array(row.probeLimits.map { .string($0) }) }
            return .object(fields)
        }
        return JSONValue.object([
            "schema": .string(schemaName), "version": .integer(version), "rows": .array(rowValues),
            "claims": ClaimsReport.json(claimResults),
        ]).canonicalText()
    }

    static func index(files: [(path: String, content: String)], version: Int,
        claimResults: [(budget: String, results: [ClaimResult])]) -> String
    {
        var text = "# PatchBench results v\(version)\n\nGenerated by `patchbench tables` from the run directories; "
        text += "see Documentation/results.md for the formats.\n\n"
        text += "- [claims.md](claims.md): measured vs reported deltas and verdicts\n"
        text += "- [resolution.md](resolution.md): usable range, seed spread and the smallest difference each probe can resolve\n"
        text += "- [provenance.md](provenance.md): commit, config hash, dataset digest, threads, machine per run\n"
        text += "- [results.json](results.json): every number, machine-readable\n"
        for (budget, results) in claimResults {
            text += "\nBudget \(budget): " + ClaimsReport.tally(results) + "\n"
        }
        text += "\n## Tables\n\n"
        for file in files.map(\.path).sorted() where file.hasPrefix("tables/") { text += "- [\(file)](\(file))\n" }
        text += "\n## Plots\n\n"
        for file in files.map(\.path).sorted() where file.hasPrefix("plots/") { text += "- [\(file)](\(file))\n" }
        return text
    }
}
