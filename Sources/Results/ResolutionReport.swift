import Foundation

/// resolution.md: what a budget's numbers can resolve. For every probe metric a claim is judged
/// on: the usable range (the supervised reference minus the random-init floor), the seed spread,
/// and the minimum detectable difference (MDD) at n seeds; then, per claim family (paper, proxy),
/// whether a difference of the reported size would clear it.
///
/// MDD at n paired seeds is the half-width of the verdict's 95% CI, t(0.975, n − 1) · s_d / √n,
/// with s_d the standard deviation of per-seed differences. Before pairs exist it is estimated
/// from the methods' seed spreads: s_d ≈ √2 · s_pooled, s_pooled = √(mean of the per-method
/// sample variances) over every row with at least two seeds (independent seeds; seeds that share
/// a data order only lower s_d). A reported Δ counts as resolvable when |Δ| exceeds the MDD on
/// the proxy's own scale; papers measure on other scales, so this says whether a difference of
/// that many points could show at all, not whether it will.
public enum ResolutionReport {
    /// Seeds a reproduction pairs (`make reproduce-all`'s SEEDS).
    public static let plannedSeeds = 3

    struct Spread {
        var pooled: Double
        var methods: Int
    }

    /// The pooled seed standard deviation of `probe`/`metric` over every method with ≥ 2 seeds.
    static func spread(_ collection: RunCollection, budget: String, probe: String, metric: String, dataset: String?) -> Spread? {
        let methods = Array(Set(collection.runs.filter { $0.budget == budget }.map(\.method))).sorted()
        var variances: [Double] = []
        for method in methods {
            let values = collection.values(budget: budget, method: method, probe: probe, metric: metric, dataset: dataset)
            let ordered = values.keys.sorted().map { values[$0]! }
            guard ordered.count >= 2, let s = SampleStatistics.meanAndStandardDeviation(ordered).standardDeviation else { continue }
            variances.append(s * s)
        }
        guard !variances.isEmpty else { return nil }
        return Spread(pooled: (variances.reduce(0, +) / Double(variances.count)).squareRoot(), methods: variances.count)
    }

    /// t(0.975, n − 1) · √2 · s / √n.
    public static func minimumDetectableDifference(pooledStandardDeviation s: Double, seeds n: Int) -> Double {
        precondition(n >= 2, "a CI needs at least two seeds")
        let t = StudentT.quantile((1 + VerdictCalculator.confidence) / 2, degreesOfFreedom: Double(n - 1))
        return t * 2.0.squareRoot() * s / Double(n).squareRoot()
    }

    static func mean(_ collection: RunCollection, budget: String, method: String, probe: String, metric: String,
                     dataset: String?) -> Double? {
        let values = collection.values(budget: budget, method: method, probe: probe, metric: metric, dataset: dataset)
        guard !values.isEmpty else { return nil }
        return SampleStatistics.meanAndStandardDeviation(values.keys.sorted().map { values[$0]! }).mean
    }

    /// The highest mean over the trained methods (neither floors nor reference rows), with its
    /// method (the first in name order on a tie): where the supervised row is no upper bound for a
    /// probe (below the floor, or below this mean), the range the methods themselves span.
    static func best(_ collection: RunCollection, budget: String, probe: String, metric: String,
                     dataset: String?) -> (method: String, mean: Double)? {
        let methods = Array(Set(collection.runs.filter { $0.budget == budget }.map(\.method))).sorted()
            .filter { !ResultsSummary.isFloor($0) && !ResultsSummary.isReference($0) }
        var best: (method: String, mean: Double)?
        for method in methods {
            guard let m = mean(collection, budget: budget, method: method, probe: probe, metric: metric, dataset: dataset) else { continue }
            if best == nil || m > best!.mean { best = (method, m) }
        }
        return best
    }

    public static func markdown(collection: RunCollection, claimResults: [(budget: String, results: [ClaimResult])]) -> String {
        var text = "# What the numbers can resolve\n\n"
        text += "Per probe metric a claim is judged on: the `random-init` floor, the `supervised` reference (the budget's "
            + "ViT trained with the labels), the usable range between them, the pooled seed standard deviation over every "
            + "method with at least two seeds, and the minimum detectable difference (MDD) at n = \(plannedSeeds) paired "
            + "seeds: t(0.975, n − 1) · √2 · s / √n, the half-width a verdict's 95% CI would have. A difference smaller "
            + "than the MDD cannot be `reproduced` or `contradicted` at n = \(plannedSeeds). See Documentation/evaluation.md, "
            + "\"Reference rows and resolution\".\n"
        for (budget, results) in claimResults {
            text += "\n## Budget \(budget)\n\n"
            let accuracy = results.filter { !$0.claim.direction.isSpeed }
            var keys: [(probe: String, metric: String, dataset: String?)] = []
            for result in accuracy {
                let p = result.claim.proxy
                let dataset = result.measuredPack ?? p.dataset
                if !keys.contains(where: { $0.probe == p.probe && $0.metric == p.metric && $0.dataset == dataset }) {
                    keys.append((p.probe, p.metric, dataset))
                }
            }
            keys.sort { ($0.probe, $0.metric, $0.dataset ?? "") < ($1.probe, $1.metric, $1.dataset ?? "") }
            text += "| probe | metric | dataset | floor (random-init) | supervised | usable range | best method (mean) "
                + "| pooled seed s (methods) | MDD at n = \(plannedSeeds) |\n"
            text += "|---|---|---|---:|---:|---:|---|---:|---:|\n"
            var belowFloor: [String] = []
            var belowBest: [String] = []
            var detectable: [String: Double] = [:]
            func key(_ probe: String, _ metric: String, _ dataset: String?) -> String { "\(probe)|\(metric)|\(dataset ?? "")" }
            for k in keys {
                let floor = mean(collection, budget: budget, method: ResultsSummary.floorMethod, probe: k.probe, metric: k.metric,
                                 dataset: k.dataset)
                let upper = mean(collection, budget: budget, method: ResultsSummary.supervisedMethod, probe: k.probe,
                                 metric: k.metric, dataset: k.dataset)
                let range = floor.flatMap { f in upper.map { $0 - f } }
                let name = "\(k.probe) \(k.metric)" + (k.dataset.map { " on \($0)" } ?? "")
                let top = best(collection, budget: budget, probe: k.probe, metric: k.metric, dataset: k.dataset)
                if let range, range < 0 {
                    belowFloor.append(name)
                } else if let upper, let top, top.mean > upper {
                    belowBest.append("\(name) (\(top.method))")
                }
                let s = spread(collection, budget: budget, probe: k.probe, metric: k.metric, dataset: k.dataset)
                let mdd = s.map { minimumDetectableDifference(pooledStandardDeviation: $0.pooled, seeds: plannedSeeds) }
                if let mdd { detectable[key(k.probe, k.metric, k.dataset)] = mdd }
                let cells = [k.probe, k.metric, k.dataset ?? "any", ClaimsReport.optionalFixed(floor),
                             ClaimsReport.optionalFixed(upper), ClaimsReport.optionalFixed(range, signed: true),
                             top.map { "\(NumberFormatting.fixed($0.mean, digits: 2)) (\($0.method))" } ?? "—",
                             s.map { "\(NumberFormatting.fixed($0.pooled, digits: 2)) (\($0.methods))" } ?? "—",
                             ClaimsReport.optionalFixed(mdd)]
                text += "| " + cells.joined(separator: " | ") + " |\n"
            }
            if !belowFloor.isEmpty {
                text += "\nThe supervised reference lies below the floor for \(belowFloor.joined(separator: ", ")): it is no upper "
                    + "bound there, and the best method's mean shows the range the methods span instead.\n"
            }
            if !belowBest.isEmpty {
                text += "\nA trained method's mean lies above the supervised reference for \(belowBest.joined(separator: ", ")): "
                    + "the supervised row is no upper bound there either, and the range the methods span (best − floor) is wider "
                    + "than the usable range.\n"
            }
            text += "\n### Claim families\n\n"
            text += "| paper | method vs baseline | proxy (strength) | claims | reported Δ | MDD | resolvable at n = \(plannedSeeds) |\n"
            text += "|---|---|---|---:|---|---:|---|\n"
            var families: [(id: String, results: [ClaimResult])] = []
            for result in accuracy {
                let c = result.claim
                let id = [c.paper.arxiv, c.method, c.baseline, c.proxy.probe, c.proxy.metric, result.measuredPack ?? c.proxy.dataset ?? "",
                          c.proxy.strength.rawValue].joined(separator: "|")
                if let i = families.firstIndex(where: { $0.id == id }) { families[i].results.append(result) } else {
                    families.append((id, [result]))
                }
            }
            for family in families {
                let c = family.results[0].claim
                let deltas = family.results.compactMap { $0.claim.reported.delta.map(abs) }.sorted()
                let reported = deltas.isEmpty ? "—" : deltas.first! == deltas.last!
                    ? NumberFormatting.fixed(deltas[0], digits: 2)
                    : "\(NumberFormatting.fixed(deltas.first!, digits: 2))–\(NumberFormatting.fixed(deltas.last!, digits: 2))"
                let mdd = detectable[key(c.proxy.probe, c.proxy.metric, family.results[0].measuredPack ?? c.proxy.dataset)]
                let resolvable: String
                if let mdd, !deltas.isEmpty {
                    let clearing = deltas.filter { $0 > mdd }.count
                    resolvable = clearing == deltas.count ? "yes" : clearing == 0 ? "no" : "\(clearing) of \(deltas.count)"
                } else {
                    resolvable = "unknown (no seed spread yet)"
                }
                let on = (family.results[0].measuredPack ?? c.proxy.dataset).map { " on \($0)" } ?? ""
                let cells = [c.paper.arxiv, "\(c.method) vs \(c.baseline)",
                             "\(c.proxy.probe) \(c.proxy.metric)\(on) (\(c.proxy.strength.rawValue))",
                             String(family.results.count), reported, ClaimsReport.optionalFixed(mdd), resolvable]
                text += "| " + cells.joined(separator: " | ") + " |\n"
            }
        }
        return text
    }
}
