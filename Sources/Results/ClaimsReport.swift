import Foundation

/// claims.md, the claims part of results.json, and the measured-vs-reported plots.
public enum ClaimsReport {
    static func optionalFixed(_ value: Double?, digits: Int = 2, signed: Bool = false) -> String {
        guard let value else { return "—" }
        return signed ? NumberFormatting.signed(value, digits: digits) : NumberFormatting.fixed(value, digits: digits)
    }

    static func times(_ value: Double?) -> String {
        value.map { "×" + NumberFormatting.fixed($0, digits: 3) } ?? "—"
    }

    public static func markdown(_ resultsByBudget: [(budget: String, results: [ClaimResult])]) -> String {
        var text = "# Claims and verdicts\n\n"
        text += "Measured Δ = method − baseline on the claim's proxy (probe/metric), paired by seed; "
        text += "95% CI = mean ± t(0.975, n−1)·s/√n. Verdict: `reproduced` when the CI lies entirely on the claimed "
        text += "side of zero, `contradicted` when entirely on the other side, `inconclusive` otherwise (also n < 2), "
        text += "`not run` when the method or the baseline has no runs. Ratio = measured mean Δ / reported Δ. "
        text += "Speed claims compare log(throughput ratio) per seed with 0 (speedup) or log(reported factor) "
        text += "(no_slowdown); their measured column is the geometric-mean ratio with its CI. "
        text += "A claim marked [R] rests on numbers the spec marks unverified. Each tested measurement is judged at 95%, "
        text += "so even if no method differed from its baseline about 1 in 20 would come out `reproduced` or "
        text += "`contradicted` by chance: each budget's line below gives that expected count. See Documentation/claims.md.\n"
        if resultsByBudget.isEmpty { text += "\nNo completed runs were found, so no claim has a verdict yet.\n" }
        for (budget, results) in resultsByBudget {
            text += "\n## Budget \(budget)\n\n"
            text += tally(results) + "\n\n"
            text += paperSummary(results)
            let accuracy = results.filter { !$0.claim.direction.isSpeed }
            let speed = results.filter { $0.claim.direction.isSpeed }
            text += accuracySection(accuracy)
            if !speed.isEmpty {
                text += "\nSpeed claims with a grid are measured by `patchbench speed` at that grid (n = alternating "
                    + "rounds, MAE with the budget's decoder, whose cost against the budget's encoder is near the papers' "
                    + "512-d 8-block decoder's against ViT-B); the others by the budget's own pretraining "
                    + "throughput (images seen / wall time, on the budget's grid).\n"
                text += "\n| speed claim | method vs baseline | measured at | direction | reported factor | measured ratio "
                    + "| 95% CI | n | measured/reported | reaches factor | verdict |\n"
                text += "|---|---|---|---|---:|---:|---|---:|---:|---|---|\n"
                for result in speed {
                    let claim = result.claim
                    let evaluation = result.evaluation
                    let interval = evaluation.ratioLower.map { "[\(times($0)), \(times(evaluation.ratioUpper))]" } ?? "—"
                    let cells = [
                        claim.id + (claim.verified ? "" : " [R]"), "\(claim.method) vs \(claim.baseline)",
                        claim.proxy.grid.map { "grid \($0)×\($0) (patchbench speed)" } ?? "pretraining runs (budget grid)",
                        claim.direction.rawValue, times(claim.reported.ratio), times(evaluation.meanRatio), interval,
                        String(evaluation.sampleCount), optionalFixed(evaluation.ratioToReported, digits: 3),
                        evaluation.reachesReportedFactor?.rawValue ?? "—", verdictLabel(evaluation),
                    ]
                    text += "| " + cells.joined(separator: " | ") + " |\n"
                }
            }
        }
        return text
    }

    /// Claims that are one measurement: the same method, baseline, probe, metric, direction and
    /// speed grid and, once measured, the same pack and paired differences (RandSAC's CIFAR-10,
    /// CIFAR-100 and ImageNet linear rows on the embedded default are one number); not yet
    /// measured, the same dataset asked for.
    struct Measurement {
        var claims: [ClaimResult]
        var first: ClaimResult { claims[0] }
        var tested: Bool { first.evaluation.verdict != .notRun }
    }

    static func measurements(_ results: [ClaimResult]) -> [Measurement] {
        var groups: [Measurement] = []
        for result in results {
            let c = result.claim, e = result.evaluation
            if let i = groups.firstIndex(where: {
                let f = $0.first.claim, fe = $0.first.evaluation
                guard f.method == c.method && f.baseline == c.baseline && f.proxy.probe == c.proxy.probe
                    && f.proxy.metric == c.proxy.metric && f.direction == c.direction && f.proxy.grid == c.proxy.grid
                    && (fe.verdict == .notRun) == (e.verdict == .notRun) else { return false }
                if e.verdict == .notRun { return f.proxy.dataset == c.proxy.dataset }
                return $0.first.measuredPack == result.measuredPack && fe.pairedSeeds == e.pairedSeeds
                    && fe.differences == e.differences
            }) {
                groups[i].claims.append(result)
            } else {
                groups.append(Measurement(claims: [result]))
            }
        }
        return groups
    }

    /// A budget's verdict counts, by claim: the direct and proxy rows, the weak-proxy rows apart
    /// (their verdict is the proxy's), the claims not run; then how many measurements the tested
    /// claims rest on and how many `reproduced`/`contradicted` verdicts chance alone would give
    /// among them at 95% if no method differed from its baseline.
    public static func tally(_ results: [ClaimResult]) -> String {
        func counts(_ rows: [ClaimResult]) -> String {
            [Verdict.reproduced, .contradicted, .inconclusive].map { verdict in
                "\(verdict.rawValue) \(rows.filter { $0.evaluation.verdict == verdict }.count)"
            }.joined(separator: ", ")
        }
        let tested = results.filter { $0.evaluation.verdict != .notRun }
        let weak = tested.filter { $0.claim.proxy.strength == .weak }
        let measured = measurements(tested).count
        var text = counts(tested.filter { $0.claim.proxy.strength != .weak })
        if !weak.isEmpty { text += "; on weak proxies only: " + counts(weak) }
        text += "; not run \(results.count - tested.count)"
        text += " · \(tested.count) tested claim(s) in \(measured) measurement(s)"
        if measured > 0 {
            text += ", of which ~\(NumberFormatting.fixed(Double(measured) * (1 - VerdictCalculator.confidence), digits: 1)) "
                + "would be reproduced or contradicted by chance alone"
        }
        return text
    }

    /// Per paper: its claims, how many were tested (in how many measurements), and their
    /// verdicts, the weak-proxy rows in their own columns.
    static func paperSummary(_ results: [ClaimResult]) -> String {
        var papers: [String] = []
        for r in results where !papers.contains(r.claim.paper.arxiv) { papers.append(r.claim.paper.arxiv) }
        var text = "| paper | claims | tested (measurements) | reproduced | contradicted | inconclusive "
            + "| on weak proxies only: reproduced / contradicted / inconclusive |\n"
        text += "|---|---:|---:|---:|---:|---:|---:|\n"
        for arxiv in papers {
            let rows = results.filter { $0.claim.paper.arxiv == arxiv }
            let tested = rows.filter { $0.evaluation.verdict != .notRun }
            let weak = tested.filter { $0.claim.proxy.strength == .weak }
            func count(_ v: Verdict, _ among: [ClaimResult]) -> Int { among.filter { $0.evaluation.verdict == v }.count }
            let strong = tested.filter { $0.claim.proxy.strength != .weak }
            let title = rows[0].claim.paper.title
            text += "| \(title) (\(arxiv)) | \(rows.count) | \(tested.count) (\(measurements(tested).count)) | "
                + "\(count(.reproduced, strong)) | \(count(.contradicted, strong)) | \(count(.inconclusive, strong)) | "
                + "\(count(.reproduced, weak)) / \(count(.contradicted, weak)) / \(count(.inconclusive, weak)) |\n"
        }
        return text + "\n"
    }

    /// Tested measurements first (one row per measurement, every claim it answers listed in it,
    /// with its proxy strength; notes below the table), then the claims not run, in one line each.
    static func accuracySection(_ accuracy: [ClaimResult]) -> String {
        guard !accuracy.isEmpty else { return "" }
        let groups = measurements(accuracy)
        let tested = groups.filter(\.tested)
        var text = ""
        if !tested.isEmpty {
            text += "### Tested\n\n"
            text += "| # | method vs baseline | proxy | claims (proxy strength): paper protocol, reported Δ | measured Δ | 95% CI | n "
                + "| ratio | verdict |\n"
            text += "|---:|---|---|---|---:|---|---:|---:|---|\n"
            var notes: [String] = []
            for (number, group) in tested.enumerated() {
                let first = group.first, evaluation = first.evaluation
                let interval = evaluation.lower.map { lower in
                    "[\(NumberFormatting.bound(lower, digits: 2)), \(NumberFormatting.bound(evaluation.upper!, digits: 2))]"
                } ?? "—"
                let claims = group.claims.map { r in
                    "\(r.claim.id)\(r.claim.verified ? "" : " [R]") (\(r.claim.proxy.strength.rawValue)): \(r.claim.evaluationProtocol), "
                        + optionalFixed(r.claim.reported.delta, signed: true)
                }.joined(separator: "<br>")
                let ratios = group.claims.map { optionalFixed($0.evaluation.ratioToReported) }.joined(separator: "<br>")
                let cells = [
                    String(number + 1), "\(first.claim.method) vs \(first.claim.baseline)",
                    measuredLabel(group), claims,
                    optionalFixed(evaluation.meanDifference, signed: true), interval, String(evaluation.sampleCount), ratios,
                    verdictLabel(evaluation, strength: group.claims.allSatisfy { $0.claim.proxy.strength == .weak } ? .weak : .proxy),
                ]
                text += "| " + cells.joined(separator: " | ") + " |\n"
                var note = first.claim.proxy.note.trimmingCharacters(in: .whitespaces)
                let uncommitted = first.uncommittedInputs
                if !uncommitted.isEmpty {
                    let shown = uncommitted.prefix(3).joined(separator: ", ") + (uncommitted.count > 3 ? ", …" : "")
                    note += (note.isEmpty ? "" : note.hasSuffix(".") ? " " : ". ") + "Measured with uncommitted code (a run's git_dirty or build_dirty, an eval's build_dirty): "
                        + "\(uncommitted.count) file(s), \(shown); provenance.md lists every file's commit."
                }
                if !note.isEmpty { notes.append("\(number + 1). \(note)") }
            }
            if !notes.isEmpty { text += "\nProxy notes (from the claims registry), by row:\n\n" + notes.joined(separator: "\n") + "\n" }
        }
        let notRun = groups.filter { !$0.tested }
        if !notRun.isEmpty {
            text += "\n### Not run (\(notRun.reduce(0) { $0 + $1.claims.count }) claims)\n\n"
            for group in notRun {
                let ids = group.claims.map { $0.claim.id + ($0.claim.verified ? "" : " [R]") }.joined(separator: ", ")
                text += "- \(group.first.claim.method) vs \(group.first.claim.baseline), \(proxyLabel(group.first.claim.proxy)): "
                    + "\(ids) — \(group.first.evaluation.reason ?? "not run")\n"
            }
        }
        return text
    }

    /// A tested measurement's probe/metric and the pack it was measured on; when it stands in
    /// for claims' own datasets (a dataset proxy), those are named.
    static func measuredLabel(_ group: Measurement) -> String {
        let proxy = group.first.claim.proxy
        guard let pack = group.first.measuredPack else { return proxyLabel(proxy) }
        var standsFor: [String] = []
        for result in group.claims where result.measuredOn != nil {
            if let dataset = result.claim.proxy.dataset, !standsFor.contains(dataset) { standsFor.append(dataset) }
        }
        return "\(proxy.probe)/\(proxy.metric) on \(pack)"
            + (standsFor.isEmpty ? "" : " (dataset proxy for \(standsFor.joined(separator: ", ")))")
    }

    /// probe/metric and the dataset a claim asks for, with its stand-in.
    static func proxyLabel(_ proxy: Proxy) -> String {
        let standIn = proxy.datasetProxy.map { ", or \($0) as its proxy" } ?? ""
        return "\(proxy.probe)/\(proxy.metric)" + (proxy.dataset.map { " on \($0)\(standIn)" } ?? "")
    }

    /// A verdict on a weak proxy (a different task, e.g. box AP for a mask-AP claim) is the
    /// proxy's verdict only: it is labelled so and never reads as the claim's.
    static func verdictLabel(_ evaluation: ClaimEvaluation, strength: ProxyStrength = .direct) -> String {
        var label = evaluation.verdict.rawValue
        if strength == .weak && evaluation.verdict != .notRun { label += " on the weak proxy only" }
        guard let reason = evaluation.reason else { return label }
        return "\(label) (\(reason.trimmingCharacters(in: .whitespaces)))"
    }

    public static func json(_ resultsByBudget: [(budget: String, results: [ClaimResult])]) -> JSONValue {
        var entries: [JSONValue] = []
        for (budget, results) in resultsByBudget {
            for result in results {
                let claim = result.claim
                let evaluation = result.evaluation
                let values: [JSONValue] = zip(evaluation.pairedSeeds, evaluation.differences).map {
                    .object(["seed": .integer($0.0), "difference": .number($0.1)])
                }
                entries.append(
                    .object([
                        "id": .string(claim.id), "budget": .string(budget), "method": .string(claim.method),
                        "baseline": .string(claim.baseline), "probe": .string(claim.proxy.probe),
                        "metric": .string(claim.proxy.metric), "direction": .string(claim.direction.rawValue),
                        "reported_delta": .optional(claim.reported.delta),
                        "reported_ratio": .optional(claim.reported.ratio),
                        "verdict": .string(evaluation.verdict.rawValue), "reason": .optional(evaluation.reason),
                        "n": .integer(evaluation.sampleCount), "paired": .array(values),
                        "mean_difference": .optional(evaluation.meanDifference),
                        "standard_deviation": .optional(evaluation.standardDeviation),
                        "ci_lower": .optional(evaluation.lower), "ci_upper": .optional(evaluation.upper),
                        "ratio_to_reported": .optional(evaluation.ratioToReported),
                        "mean_ratio": .optional(evaluation.meanRatio),
                        "ratio_ci_lower": .optional(evaluation.ratioLower),
                        "ratio_ci_upper": .optional(evaluation.ratioUpper),
                        "reaches_reported_factor": .optional(evaluation.reachesReportedFactor?.rawValue),
                        "verified": .bool(claim.verified),
                        // A weak proxy's verdict is the proxy's (box AP for a mask-AP claim), not the claim's.
                        "proxy_strength": .string(claim.proxy.strength.rawValue),
                        "uncommitted_inputs": .array(result.uncommittedInputs.map { .string($0) }),
                        "measured_on": .optional(result.measuredPack),
                        "dataset_proxy": .bool(result.measuredOn != nil),
                    ]))
            }
        }
        return .array(entries)
    }

    static func colour(_ verdict: Verdict) -> String {
        switch verdict {
        case .reproduced: return "#2ca02c"
        case .contradicted: return "#d62728"
        case .inconclusive: return "#1f77b4"
        case .notRun: return "#7f7f7f"
        }
    }

    static let verdictLegend: [(colour: String, label: String)] = [
        (colour(.reproduced), "reproduced"), (colour(.contradicted), "contradicted"), (colour(.inconclusive), "inconclusive"),
    ]

    /// Measured vs reported Δ for the accuracy claims with at least one paired seed, one plot per
    /// proxy metric (top-1, AP and mIoU points are not on one scale), keyed "<probe>-<metric>".
    public static func deltaPlots(budget: String, results: [ClaimResult]) -> [(metric: String, svg: String)] {
        let measured = results.filter { !$0.claim.direction.isSpeed && $0.evaluation.sampleCount > 0 }
        var keys: [String] = []
        for r in measured where !keys.contains("\(r.claim.proxy.probe)-\(r.claim.proxy.metric)") {
            keys.append("\(r.claim.proxy.probe)-\(r.claim.proxy.metric)")
        }
        return keys.sorted().map { key in
            let rows = measured.filter { "\($0.claim.proxy.probe)-\($0.claim.proxy.metric)" == key }.map { result in
                SVGPlot.IntervalRow(
                    label: result.claim.id + (result.claim.proxy.strength == .weak ? " (weak)" : ""),
                    measured: result.evaluation.meanDifference, lower: result.evaluation.lower,
                    upper: result.evaluation.upper, reported: result.claim.reported.delta,
                    colour: colour(result.evaluation.verdict))
            }
            let proxy = measured.first { "\($0.claim.proxy.probe)-\($0.claim.proxy.metric)" == key }!.claim.proxy
            let svg = SVGPlot.intervalPlot(
                title: "Measured vs reported Δ on \(proxy.probe)/\(proxy.metric) (\(budget))",
                axisLabel: "Δ = method − baseline (\(proxy.probe)/\(proxy.metric) points)",
                rows: rows, zero: 0, tickLabel: { NumberFormatting.significant($0, digits: 3) }, legend: verdictLegend)
            return (key, svg)
        }
    }

    /// Measured vs reported throughput ratio for every speed claim with a paired seed, on a log axis.
    public static func speedPlot(budget: String, results: [ClaimResult]) -> String {
        let rows = results.filter { $0.claim.direction.isSpeed && $0.evaluation.sampleCount > 0 }.map { result in
            SVGPlot.IntervalRow(
                label: result.claim.id + (result.claim.proxy.grid.map { " (grid \($0))" } ?? " (budget grid)"),
                measured: result.evaluation.meanDifference, lower: result.evaluation.lower,
                upper: result.evaluation.upper, reported: result.claim.reported.ratio.map { log($0) },
                colour: colour(result.evaluation.verdict))
        }
        return SVGPlot.intervalPlot(
            title: "Measured vs reported speed ratio (\(budget))",
            axisLabel: "throughput ratio method / baseline (log axis)",
            rows: rows, zero: 0, tickLabel: { "×" + NumberFormatting.significant(exp($0), digits: 3) },
            tickValues: { _, low, high in
                // Powers of 2 of the ratio, so the labels read ×0.5, ×1, ×2, ×4.
                let first = Int((low / log(2)).rounded(.down)), last = Int((high / log(2)).rounded(.up))
                let step = max(1, (last - first) / 6)
                return stride(from: first, through: last, by: step).map { Double($0) * log(2) }
            }, legend: verdictLegend)
    }
}
