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
    /// The pack the paired seeds were measured on (their eval files' `dataset.name`; run.json's
    /// for the `pretrain` probe), whether or not it is the claim's own: several packs are listed
    /// comma-separated. nil when no seed paired and for `patchbench speed` rounds.
    public var measuredPack: String? = nil
    /// The paired seeds' run.json and eval files written by uncommitted code (a run's `git_dirty`:
    /// the checkout it read its budget from had changes; `build_dirty`: the binary's source had),
    /// relative to the runs root, sorted. (Eval files older than the flag record
    /// no commit and are not listed: unknown is not dirty.)
    public var uncommittedInputs: [String] = []
}

/// Applies `VerdictCalculator` to every claim, with the proxy's probe, metric and dataset selecting the values.
public enum ClaimsEvaluator {
    public static func evaluate(_ claims: ClaimsFile, runs: RunCollection, budget: String) -> [ClaimResult] {
        claims.claims.map { claim in
            let proxy = claim.proxy
            let methodValues: [Int: Double], baselineValues: [Int: Double]
            var mismatches: [String] = []
            if claim.direction.isSpeed, let grid = proxy.grid {
                // A controlled comparison at the claim's resolution, rounds paired.
                methodValues = runs.speedValues(budget: budget, method: claim.method, baseline: claim.baseline, grid: grid,
                                                of: claim.method)
                baselineValues = runs.speedValues(budget: budget, method: claim.method, baseline: claim.baseline, grid: grid,
                                                  of: claim.baseline)
            } else {
                // Seed k pairs only where both arms measured under the same conditions (dataset,
                // images, and for throughput the machine and threads).
                (methodValues, baselineValues, mismatches) = runs.comparableValues(
                    budget: budget, method: claim.method, baseline: claim.baseline, probe: proxy.probe,
                    metric: proxy.metric, dataset: proxy.dataset)
            }
            var evaluation = VerdictCalculator.evaluate(
                method: methodValues, baseline: baselineValues, direction: claim.direction,
                reportedDelta: claim.reported.delta, reportedRatio: claim.reported.ratio)
            var measuredOn: String? = nil
            if evaluation.sampleCount == 0, !claim.direction.isSpeed, let stand = proxy.datasetProxy {
                // No pair on the claim's own dataset: the labelled dataset proxy stands in.
                let standValues = runs.comparableValues(
                    budget: budget, method: claim.method, baseline: claim.baseline, probe: proxy.probe,
                    metric: proxy.metric, dataset: stand)
                let standIn = VerdictCalculator.evaluate(
                    method: standValues.method, baseline: standValues.baseline, direction: claim.direction,
                    reportedDelta: claim.reported.delta, reportedRatio: claim.reported.ratio)
                if standIn.sampleCount > 0 {
                    evaluation = standIn
                    measuredOn = stand
                    mismatches = standValues.mismatches
                }
            }
            if !mismatches.isEmpty {
                if evaluation.verdict == .notRun {
                    // Both arms have runs; none of their seeds measured the same thing.
                    evaluation.verdict = .inconclusive
                    evaluation.reason = "no seed pairs under the same conditions"
                }
                evaluation.reason = ([evaluation.reason].compactMap { $0 } + mismatches).joined(separator: "; ")
            }
            let methodImplemented = claims.implemented.contains(claim.method)
            let baselineImplemented = claims.implemented.contains(claim.baseline)
            if evaluation.verdict == .notRun, claim.direction.isSpeed, let grid = proxy.grid {
                // MAE's rows are read with one decoder only: a file of the other's rows is named as such.
                let decoder = claim.baseline == "mae" ? " with MAE's \(SpeedFile.claimDecoder) decoder" : ""
                evaluation.reason = "no patchbench speed rounds at grid \(grid)\(decoder) "
                    + "(runs/speed/\(SpeedFile.fileName(budget: budget, method: claim.method)))"
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
            // Speed rounds at a grid come from runs/speed, not from a pack or a run's files.
            let fromSpeedFile = claim.direction.isSpeed && proxy.grid != nil
            return ClaimResult(
                claim: claim, budget: budget, evaluation: evaluation, methodImplemented: methodImplemented,
                baselineImplemented: baselineImplemented, measuredOn: measuredOn,
                measuredPack: fromSpeedFile ? nil
                    : pack(runs, budget: budget, method: claim.method, seeds: evaluation.pairedSeeds, probe: proxy.probe),
                uncommittedInputs: fromSpeedFile ? []
                    : uncommittedInputs(runs, budget: budget, arms: [claim.method, claim.baseline], seeds: evaluation.pairedSeeds,
                                        probe: proxy.probe))
        }
    }

    /// The pack(s) the method's paired seeds were measured on (the baseline's are the same: seeds
    /// pair only on the same pack).
    static func pack(_ runs: RunCollection, budget: String, method: String, seeds: [Int], probe: String) -> String? {
        var packs: [String] = []
        for run in runs.runs(budget: budget, method: method) where seeds.contains(run.seed) {
            if let pack = run.pack(probe: probe), !packs.contains(pack) { packs.append(pack) }
        }
        return packs.isEmpty ? nil : packs.sorted().joined(separator: ", ")
    }

    /// The files behind the paired seeds that no commit describes exactly.
    static func uncommittedInputs(_ runs: RunCollection, budget: String, arms: [String], seeds: [Int], probe: String) -> [String] {
        var files: [String] = []
        for arm in arms {
            for run in runs.runs(budget: budget, method: arm) where seeds.contains(run.seed) {
                if run.run.provenance.uncommitted { files.append(run.relativePath + "/run.json") }
                if let evaluation = run.evaluations.first(where: { $0.probe == probe }), evaluation.uncommitted {
                    files.append(run.relativePath + "/eval/\(probe).json")
                }
            }
        }
        return files.sorted()
    }
}
