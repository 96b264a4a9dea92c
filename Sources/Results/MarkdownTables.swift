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

    /// `floors`: each method's untrained floor (the method table's `Method.floors(budget:)`, by
    /// name); a row gets ▼ where its mean is below its own floor's. A method without one (a floor,
    /// a reference row, an arm no floor matches) is never marked.
    public static func render(key: TableKey, rows: [TableRow], floors: [String: String]) -> String {
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
            : "percentages in 0–100. ▼ = mean below the method's untrained floor's on that metric"
                + floorLegend(rows: rows, floors: floors) + "."
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
        let atLimits = rows.filter { !$0.probeLimits.isEmpty }
        if !atLimits.isEmpty {
            text += "**The probe at the limits of its search**: " + atLimits.map { "\($0.method) (" + $0.probeLimits.joined(separator: "; ") + ")" }
                .joined(separator: "; ") + ". Past these limits the probe's accuracy may still rise, so such a row can "
                + "understate what a linear probe reads from the encoder.\n\n"
        }
        text += "| method | " + metricKeys.joined(separator: " | ") + " | seeds |\n"
        text += "|---|" + String(repeating: "---:|", count: metricKeys.count) + "---|\n"
        for row in rows {
            let floor = floors[row.method].flatMap { name in rows.first { $0.method == name } }
            let cells = metricKeys.map { metric -> String in
                guard let summary = row.metrics.first(where: { $0.metric == metric }) else { return "—" }
                var text = cell(summary, probe: key.probe, rowSeeds: row.seeds.count)
                if ProbeMetricRegistry.isPercentage(probe: key.probe, metric: metric),
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

    /// " (its encoder variant read its way, never trained: random-init for mae, supervised; …)"
    /// for the rows of this table that have a floor, grouped by floor in row order; empty when none has.
    static func floorLegend(rows: [TableRow], floors: [String: String]) -> String {
        var groups: [(floor: String, methods: [String])] = []
        for row in rows {
            guard let floor = floors[row.method] else { continue }
            if let index = groups.firstIndex(where: { $0.floor == floor }) {
                groups[index].methods.append(row.method)
            } else {
                groups.append((floor, [row.method]))
            }
        }
        return groups.isEmpty ? "" : " (its encoder variant read its way, never trained: "
            + groups.map { "`\($0.floor)` for " + $0.methods.joined(separator: ", ") }.joined(separator: "; ") + ")"
    }
}
