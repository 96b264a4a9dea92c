/// The per-(budget, dataset, probe) Markdown tables: rows = methods, columns = metrics as mean ± std over seeds.
public enum MarkdownTables {
    /// A path component safe on every file system: anything outside [A-Za-z0-9._-] becomes "_".
    public static func safeComponent(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let mapped = String(text.map { allowed.contains($0) ? $0 : "_" })
        return mapped.isEmpty || mapped.hasPrefix(".") ? "_" + mapped : mapped
    }

    /// Relative path of a table inside the version directory.
    public static func relativePath(_ key: TableKey) -> String {
        "tables/\(safeComponent(key.budget))/\(safeComponent(key.dataset))/\(safeComponent(key.probe)).md"
    }

    /// "mean ± std", with "(n=k)" when the metric has fewer seeds than the row.
    static func cell(_ summary: MetricSummary, probe: String, rowSeeds: Int) -> String {
        let mean = NumberFormatting.metric(summary.mean, probe: probe, metric: summary.metric)
        let spread = summary.standardDeviation.map {
            NumberFormatting.metric($0, probe: probe, metric: summary.metric)
        } ?? "–"
        let count = summary.values.count < rowSeeds ? " (n=\(summary.values.count))" : ""
        return "\(mean) ± \(spread)\(count)"
    }

    public static func render(key: TableKey, rows: [TableRow]) -> String {
        var metricKeys: [String] = []
        for row in rows {
            for summary in row.metrics where !metricKeys.contains(summary.metric) { metricKeys.append(summary.metric) }
        }
        metricKeys.sort { left, right in
            let (l, r) = (ProbeMetricRegistry.displayRank(probe: key.probe, metric: left),
                ProbeMetricRegistry.displayRank(probe: key.probe, metric: right))
            return l != r ? l < r : left < right
        }
        var text = "# \(key.budget) · \(key.dataset) · \(key.probe)\n\n"
        text += "Mean ± sample standard deviation over seeds (n − 1 denominator); "
        text += key.probe == ProbeMetricRegistry.pretrainProbe
            ? "final_loss is the last logged loss, images_per_second = images_seen / wall_seconds of pretraining "
                + "(the budget's own grid, e.g. 8×8 at tiny; speed at the claims' grids is `patchbench speed`'s).\n\n"
            : "percentages in 0–100. ▼ = mean below the untrained floor's (`random-init`) on that metric."
                + (key.probe == "det" ? " Undefined APs (pycocotools' −1: no object of that area) are left out of "
                    + "means; — = undefined in every seed." : "") + "\n\n"
        let references = rows.map(\.method).filter(ResultsSummary.isReference)
        if !references.isEmpty {
            let meaning = [ResultsSummary.supervisedMethod: "the same ViT trained with the labels under the same budget (the upper end)",
                           ResultsSummary.rawPixelsMethod: "the probe on normalised pixels, no encoder",
                           ResultsSummary.constantClassMethod: "no features, predictions from the training labels alone"]
            text += "Reference rows, after the methods: " + references.map { "`\($0)` = \(meaning[$0] ?? "a reference")" }
                .joined(separator: "; ") + "; the `random-init` floors come last.\n\n"
        }
        var limited: [String] = []
        for row in rows { for subset in row.subsets where !limited.contains(subset) { limited.append(subset) } }
        if !limited.isEmpty {
            text += "**Evaluated on a subset** (--train-limit / --test-limit): " + limited.sorted().joined(separator: "; ")
                + ". Not comparable with evaluations on every image.\n\n"
        }
        text += "| method | " + metricKeys.joined(separator: " | ") + " | seeds |\n"
        text += "|---|" + String(repeating: "---:|", count: metricKeys.count) + "---|\n"
        let floor = rows.first { $0.method == ResultsSummary.floorMethod }
        for row in rows {
            let cells = metricKeys.map { metric -> String in
                guard let summary = row.metrics.first(where: { $0.metric == metric }) else { return "—" }
                var text = cell(summary, probe: key.probe, rowSeeds: row.seeds.count)
                if row.method != ResultsSummary.floorMethod, ProbeMetricRegistry.isPercentage(probe: key.probe, metric: metric),
                   let floorMean = floor?.metrics.first(where: { $0.metric == metric })?.mean, summary.mean < floorMean {
                    text += " ▼"
                }
                return text
            }
            let seeds = "\(row.seeds.count) (" + row.seeds.map(String.init).joined(separator: ", ") + ")"
            text += "| \(row.method) | " + cells.joined(separator: " | ") + " | \(seeds) |\n"
        }
        return text
    }
}
