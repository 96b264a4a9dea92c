/// A claim's verdict in one budget.
public struct ClaimResult: Equatable, Sendable {
    public var claim: Claim
    public var budget: String
    public var evaluation: ClaimEvaluation
    public var methodImplemented: Bool
    public var baselineImplemented: Bool
    /// The pack the verdict was measured on when it is not the claim's own dataset (the claim's
    /// `dataset_proxy`); nil when it is the claim's dataset or nothing was measured.
    public var measuredOn: String? = nil
}

/// Applies `VerdictCalculator` to every claim, with the proxy's probe, metric and dataset selecting the values.
public enum ClaimsEvaluator {
    public static func evaluate(_ claims: ClaimsFile, runs: RunCollection, budget: String) -> [ClaimResult] {
        claims.claims.map { claim in
            let proxy = claim.proxy
            let methodValues: [Int: Double], baselineValues: [Int: Double]
            if claim.direction.isSpeed, let grid = proxy.grid {
                // A controlled comparison at the claim's resolution, rounds paired.
                methodValues = runs.speedValues(budget: budget, method: claim.method, baseline: claim.baseline, grid: grid,
                                                of: claim.method)
                baselineValues = runs.speedValues(budget: budget, method: claim.method, baseline: claim.baseline, grid: grid,
                                                  of: claim.baseline)
            } else {
                methodValues = runs.values(
                    budget: budget, method: claim.method, probe: proxy.probe, metric: proxy.metric, dataset: proxy.dataset)
                baselineValues = runs.values(
                    budget: budget, method: claim.baseline, probe: proxy.probe, metric: proxy.metric,
                    dataset: proxy.dataset)
            }
            var evaluation = VerdictCalculator.evaluate(
                method: methodValues, baseline: baselineValues, direction: claim.direction,
                reportedDelta: claim.reported.delta, reportedRatio: claim.reported.ratio)
            var measuredOn: String? = nil
            if evaluation.verdict == .notRun, !claim.direction.isSpeed, let stand = proxy.datasetProxy {
                // No pair on the claim's own dataset: the labelled dataset proxy stands in.
                let values = [claim.method, claim.baseline].map {
                    runs.values(budget: budget, method: $0, probe: proxy.probe, metric: proxy.metric, dataset: stand)
                }
                let standIn = VerdictCalculator.evaluate(
                    method: values[0], baseline: values[1], direction: claim.direction,
                    reportedDelta: claim.reported.delta, reportedRatio: claim.reported.ratio)
                if standIn.verdict != .notRun {
                    evaluation = standIn
                    measuredOn = stand
                }
            }
            let methodImplemented = claims.implemented.contains(claim.method)
            let baselineImplemented = claims.implemented.contains(claim.baseline)
            if evaluation.verdict == .notRun, claim.direction.isSpeed, let grid = proxy.grid {
                evaluation.reason = "no patchbench speed rounds at grid \(grid) (runs/speed/\(SpeedFile.fileName(budget: budget, method: claim.method)))"
            }
            if evaluation.verdict == .notRun {
                let unimplemented = [claim.method, claim.baseline].filter { !claims.implemented.contains($0) }
                if !unimplemented.isEmpty {
                    evaluation.reason = (evaluation.reason ?? "") + "; not implemented: "
                        + unimplemented.joined(separator: ", ")
                }
                for name in [claim.method, claim.baseline] {
                    if let note = claims.notes[name] { evaluation.reason = (evaluation.reason.map { $0 + "; " } ?? "") + "\(name) \(note)" }
                }
            }
            return ClaimResult(
                claim: claim, budget: budget, evaluation: evaluation, methodImplemented: methodImplemented,
                baselineImplemented: baselineImplemented, measuredOn: measuredOn)
        }
    }
}
