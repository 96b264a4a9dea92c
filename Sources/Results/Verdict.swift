import Foundation

/// The outcome of comparing a measured paired-seed delta with a claim (design.md, "Claims and verdicts").
public enum Verdict: String, Codable, Sendable, CaseIterable {
    /// The 95% CI lies entirely on the claimed side of zero (of log(threshold) for speed claims).
    case reproduced
    /// The 95% CI lies entirely on the other side.
    case contradicted
    /// The CI straddles the boundary, fewer than two seeds pair up, or every paired difference
    /// is equal (no measurable spread).
    case inconclusive
    /// The method or the baseline has no runs with this number.
    case notRun = "not run"
}

/// Whether a speed claim's measured factor reaches the reported factor.
public enum FactorReach: String, Codable, Sendable {
    /// The lower CI bound of the measured ratio is at least the reported ratio.
    case yes
    /// The geometric-mean ratio reaches it, but the lower CI bound does not.
    case pointEstimateOnly = "point estimate only"
    case no
}

/// A paired-seed comparison and its verdict. For accuracy claims the differences are method − baseline;
/// for speed claims they are log(method throughput / baseline throughput), and `meanRatio`, `ratioLower`,
/// `ratioUpper` give the geometric-mean ratio and its CI back on the ratio scale.
public struct ClaimEvaluation: Equatable, Sendable {
    public var verdict: Verdict
    /// Seeds present for both method and baseline, ascending.
    public var pairedSeeds: [Int]
    public var differences: [Double]
    public var meanDifference: Double?
    public var standardDeviation: Double?
    public var lower: Double?
    public var upper: Double?
    /// measured / reported: mean Δ / reported Δ, or for speed claims geometric-mean ratio / reported ratio.
    public var ratioToReported: Double?
    public var meanRatio: Double?
    public var ratioLower: Double?
    public var ratioUpper: Double?
    public var reachesReportedFactor: FactorReach?
    /// Why the verdict is `not run` or `inconclusive` without a CI, in words.
    public var reason: String?

    public var sampleCount: Int { pairedSeeds.count }
}

public enum VerdictCalculator {
    public static let confidence = 0.95

    /// Mean and Student-t CI of paired differences: mean ± t_{(1+c)/2, n−1} · s / √n, s the sample std (n−1).
    /// Returns nil for n < 2.
    public static func confidenceInterval(_ differences: [Double], confidence: Double = confidence)
        -> (mean: Double, standardDeviation: Double, lower: Double, upper: Double)?
    {
        let n = differences.count
        guard n >= 2 else { return nil }
        let (mean, spread) = SampleStatistics.meanAndStandardDeviation(differences)
        let standardDeviation = spread!
        let t = StudentT.quantile((1 + confidence) / 2, degreesOfFreedom: Double(n - 1))
        let halfWidth = t * standardDeviation / Double(n).squareRoot()
        return (mean, standardDeviation, mean - halfWidth, mean + halfWidth)
    }

    /// Pairs values by seed and decides the verdict.
    /// - Parameters:
    ///   - method, baseline: per-seed values of the claim's proxy metric (throughputs for speed claims).
    ///   - direction: which side of the boundary the claim is on.
    ///   - reportedDelta: the paper's Δ (accuracy claims) — only used for the ratio column.
    ///   - reportedRatio: the paper's factor (speed claims) — sets the no_slowdown boundary and the reach check.
    public static func evaluate(
        method: [Int: Double], baseline: [Int: Double], direction: ClaimDirection,
        reportedDelta: Double?, reportedRatio: Double?
    ) -> ClaimEvaluation {
        var evaluation = ClaimEvaluation(
            verdict: .notRun, pairedSeeds: [], differences: [], meanDifference: nil, standardDeviation: nil,
            lower: nil, upper: nil, ratioToReported: nil, meanRatio: nil, ratioLower: nil, ratioUpper: nil,
            reachesReportedFactor: nil, reason: nil)
        if method.isEmpty || baseline.isEmpty {
            let missing = [method.isEmpty ? "method" : nil, baseline.isEmpty ? "baseline" : nil].compactMap { $0 }
            evaluation.reason = "no runs for the \(missing.joined(separator: " and "))"
            return evaluation
        }
        let seeds = method.keys.filter { baseline[$0] != nil }.sorted()
        evaluation.pairedSeeds = seeds
        if direction.isSpeed {
            for seed in seeds {
                let (m, b) = (method[seed]!, baseline[seed]!)
                precondition(m > 0 && b > 0, "throughputs must be positive")
                evaluation.differences.append(log(m / b))
            }
        } else {
            evaluation.differences = seeds.map { method[$0]! - baseline[$0]! }
        }
        let n = seeds.count
        if n > 0 {
            let mean = SampleStatistics.meanAndStandardDeviation(evaluation.differences).mean
            evaluation.meanDifference = mean
            if direction.isSpeed {
                evaluation.meanRatio = exp(mean)
                if let reportedRatio { evaluation.ratioToReported = exp(mean) / reportedRatio }
            } else if let reportedDelta, reportedDelta != 0 {
                evaluation.ratioToReported = mean / reportedDelta
            }
        }
        guard let interval = confidenceInterval(evaluation.differences) else {
            evaluation.verdict = .inconclusive
            evaluation.reason = n == 0 ? "method and baseline share no seed" : "only \(n) paired seed; need at least 2"
            if direction.isSpeed, let reportedRatio, let meanRatio = evaluation.meanRatio {
                evaluation.reachesReportedFactor = meanRatio >= reportedRatio ? .pointEstimateOnly : .no
            }
            return evaluation
        }
        evaluation.standardDeviation = interval.standardDeviation
        evaluation.lower = interval.lower
        evaluation.upper = interval.upper
        if interval.standardDeviation == 0 {
            // Equal differences (top-1 lies on a 0.01 grid, so two seeds can tie exactly) say
            // the spread was not resolved, not that it is 0: a zero-width CI proves nothing.
            evaluation.verdict = .inconclusive
            evaluation.reason = "every paired difference is equal: no measurable seed spread"
            if direction.isSpeed {
                evaluation.ratioLower = exp(interval.lower)
                evaluation.ratioUpper = exp(interval.upper)
                if let reportedRatio, let meanRatio = evaluation.meanRatio {
                    evaluation.reachesReportedFactor = meanRatio >= reportedRatio ? .pointEstimateOnly : .no
                }
            }
            return evaluation
        }
        // The boundary the CI must clear: 0 for deltas and for speed-ups (log 1), log(factor) for no_slowdown.
        let boundary: Double
        switch direction {
        case .increase, .decrease, .speedup: boundary = 0
        case .noSlowdown: boundary = log(reportedRatio ?? 1)
        }
        let above = interval.lower > boundary
        let below = interval.upper < boundary
        switch direction {
        case .increase, .speedup, .noSlowdown:
            evaluation.verdict = above ? .reproduced : (below ? .contradicted : .inconclusive)
        case .decrease:
            evaluation.verdict = below ? .reproduced : (above ? .contradicted : .inconclusive)
        }
        if direction.isSpeed {
            evaluation.ratioLower = exp(interval.lower)
            evaluation.ratioUpper = exp(interval.upper)
            if let reportedRatio {
                if exp(interval.lower) >= reportedRatio {
                    evaluation.reachesReportedFactor = .yes
                } else if exp(interval.mean) >= reportedRatio {
                    evaluation.reachesReportedFactor = .pointEstimateOnly
                } else {
                    evaluation.reachesReportedFactor = .no
                }
            }
        }
        return evaluation
    }
}
