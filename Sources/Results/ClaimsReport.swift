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
        text += "A claim marked [R] rests on numbers the spec marks unverified. See Documentation/claims.md.\n"
        if resultsByBudget.isEmpty { text += "\nNo completed runs were found, so no claim has a verdict yet.\n" }
        for (budget, results) in resultsByBudget {
            text += "\n## Budget \(budget)\n\n"
            var counts: [String] = []
            for verdict in Verdict.allCases {
                let count = results.filter { $0.evaluation.verdict == verdict }.count
                counts.append("\(verdict.rawValue): \(count)")
            }
            text += counts.joined(separator: " · ") + "\n\n"
            let accuracy = results.filter { !$0.claim.direction.isSpeed }
            let speed = results.filter { $0.claim.direction.isSpeed }
            if !accuracy.isEmpty {
                text += "| claim | method vs baseline | proxy | reported Δ | measured Δ | 95% CI | n | ratio | verdict |\n"
                text += "|---|---|---|---:|---:|---|---:|---:|---|\n"
                for result in accuracy {
                    let claim = result.claim
                    let evaluation = result.evaluation
                    let interval = evaluation.lower.map { lower in
                        let upper = NumberFormatting.signed(evaluation.upper!, digits: 2)
                        return "[\(NumberFormatting.signed(lower, digits: 2)), \(upper)]"
                    } ?? "—"
                    let cells = [
                        claim.id + (claim.verified ? "" : " [R]"), "\(claim.method) vs \(claim.baseline)",
                        proxyLabel(claim.proxy), optionalFixed(claim.reported.delta, signed: true),
                        optionalFixed(evaluation.meanDifference, signed: true), interval,
                        String(evaluation.sampleCount), optionalFixed(evaluation.ratioToReported),
                        verdictLabel(evaluation),
                    ]
                    text += "| " + cells.joined(separator: " | ") + " |\n"
                }
            }
            if !speed.isEmpty {
                text += "\nSpeed claims with a grid are measured by `patchbench speed` at that grid (n = alternating "
                    + "rounds, MAE with the papers' 512-d 8-block decoder); the others by the budget's own pretraining "
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

    static func proxyLabel(_ proxy: Proxy) -> String {
        "\(proxy.probe)/\(proxy.metric)" + (proxy.dataset.map { " on \($0)" } ?? "")
    }

    static func verdictLabel(_ evaluation: ClaimEvaluation) -> String {
        guard let reason = evaluation.reason else { return evaluation.verdict.rawValue }
        return "\(evaluation.verdict.rawValue) (\(reason.trimmingCharacters(in: .whitespaces)))"
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

    /// Measured vs reported Δ for every accuracy claim with at least one paired seed.
    public static func deltaPlot(budget: String, results: [ClaimResult]) -> String {
        let rows = results.filter { !$0.claim.direction.isSpeed && $0.evaluation.sampleCount > 0 }.map { result in
            SVGPlot.IntervalRow(
                label: result.claim.id, measured: result.evaluation.meanDifference, lower: result.evaluation.lower,
                upper: result.evaluation.upper, reported: result.claim.reported.delta,
                colour: colour(result.evaluation.verdict))
        }
        return SVGPlot.intervalPlot(
            title: "Measured vs reported Δ (\(budget))", axisLabel: "Δ = method − baseline (proxy metric points)",
            rows: rows, zero: 0, tickLabel: { NumberFormatting.significant($0, digits: 3) })
    }

    /// Measured vs reported throughput ratio for every speed claim with a paired seed, on a log axis.
    public static func speedPlot(budget: String, results: [ClaimResult]) -> String {
        let rows = results.filter { $0.claim.direction.isSpeed && $0.evaluation.sampleCount > 0 }.map { result in
            SVGPlot.IntervalRow(
                label: result.claim.id, measured: result.evaluation.meanDifference, lower: result.evaluation.lower,
                upper: result.evaluation.upper, reported: result.claim.reported.ratio.map { log($0) },
                colour: colour(result.evaluation.verdict))
        }
        return SVGPlot.intervalPlot(
            title: "Measured vs reported speed ratio (\(budget))",
            axisLabel: "throughput ratio method / baseline (log axis)",
            rows: rows, zero: 0, tickLabel: { "×" + NumberFormatting.significant(exp($0), digits: 3) })
    }
}
