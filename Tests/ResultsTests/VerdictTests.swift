import Foundation
import Testing
import Results

@Suite struct VerdictTests {
    /// Seeds 0...3 with baseline 50 and the given method − baseline differences.
    func evaluate(_ differences: [Double], direction: ClaimDirection = .increase, reported: Double? = 2)
        -> ClaimEvaluation
    {
        var method: [Int: Double] = [:]
        var baseline: [Int: Double] = [:]
        for (seed, difference) in differences.enumerated() {
            baseline[seed] = 50
            method[seed] = 50 + difference
        }
        return VerdictCalculator.evaluate(
            method: method, baseline: baseline, direction: direction, reportedDelta: reported, reportedRatio: nil)
    }

    @Test func intervalUsesStudentT() throws {
        // mean 2, s = 1, n = 3: t(0.975, 2) = 4.302652729749464, half-width 4.3027 / √3 = 2.4841 → [−0.484, 4.484].
        let evaluation = evaluate([1.0, 2.0, 3.0])
        let halfWidth = 4.302652729749464 / 3.0.squareRoot()
        #expect(abs(try #require(evaluation.meanDifference) - 2) < 1e-12)
        #expect(abs(try #require(evaluation.standardDeviation) - 1) < 1e-12)
        #expect(abs(try #require(evaluation.lower) - (2 - halfWidth)) < 1e-9)
        #expect(abs(try #require(evaluation.upper) - (2 + halfWidth)) < 1e-9)
        #expect(evaluation.verdict == .inconclusive)
    }

    @Test func reproducedTightInterval() throws {
        let evaluation = evaluate([1.9, 2.0, 2.1, 2.0])
        #expect(evaluation.verdict == .reproduced)
        #expect(try #require(evaluation.lower) > 0)
        #expect(abs(try #require(evaluation.ratioToReported) - 1) < 1e-12)
        #expect(evaluation.pairedSeeds == [0, 1, 2, 3])
    }

    @Test func contradictedWhenIntervalBelowZero() throws {
        let evaluation = evaluate([-1.0, -1.2, -0.8])
        #expect(evaluation.verdict == .contradicted)
        #expect(try #require(evaluation.upper) < 0)
        #expect(abs(try #require(evaluation.ratioToReported) + 0.5) < 1e-12)
    }

    @Test func inconclusiveWhenIntervalStraddlesZero() {
        #expect(evaluate([1.0, -0.5, 0.7]).verdict == .inconclusive)
    }

    @Test func inconclusiveWithOneSeed() {
        let evaluation = evaluate([5.0])
        #expect(evaluation.verdict == .inconclusive)
        #expect(evaluation.lower == nil)
        #expect(evaluation.meanDifference == 5)
        #expect(evaluation.reason?.contains("need at least 2") == true)
    }

    @Test func inconclusiveWithoutSharedSeeds() {
        let evaluation = VerdictCalculator.evaluate(
            method: [0: 60, 1: 61], baseline: [2: 50, 3: 51], direction: .increase, reportedDelta: 1,
            reportedRatio: nil)
        #expect(evaluation.verdict == .inconclusive)
        #expect(evaluation.sampleCount == 0)
    }

    @Test func notRunWhenEitherSideHasNoRuns() {
        let noMethod = VerdictCalculator.evaluate(
            method: [:], baseline: [0: 50, 1: 51], direction: .increase, reportedDelta: 1, reportedRatio: nil)
        #expect(noMethod.verdict == .notRun)
        #expect(noMethod.reason == "no runs for the method")
        let noBaseline = VerdictCalculator.evaluate(
            method: [0: 50], baseline: [:], direction: .increase, reportedDelta: 1, reportedRatio: nil)
        #expect(noBaseline.verdict == .notRun)
    }

    @Test func decreaseClaimsMirror() {
        #expect(evaluate([-1.0, -1.2, -0.8], direction: .decrease, reported: -1).verdict == .reproduced)
        #expect(evaluate([1.9, 2.0, 2.1], direction: .decrease, reported: -1).verdict == .contradicted)
    }

    @Test func pairsBySeedNotByPosition() throws {
        // Seeds 0 and 2 pair; seed 1 of the method and seed 3 of the baseline are unpaired.
        let evaluation = VerdictCalculator.evaluate(
            method: [0: 10, 1: 99, 2: 12.5], baseline: [0: 9, 2: 11, 3: -99], direction: .increase, reportedDelta: nil,
            reportedRatio: nil)
        #expect(evaluation.pairedSeeds == [0, 2])
        #expect(evaluation.differences == [1, 1.5])
        #expect(evaluation.verdict == .inconclusive)  // t(0.975, 1) = 12.7: the CI is 1.25 ± 3.2
        #expect(evaluation.ratioToReported == nil)
    }

    /// A printed bound keeps the side of 0 it lies on: −0.004 reads "-0.00" beside an
    /// inconclusive verdict, +0.004 "+0.00" beside a reproduced one.
    @Test func printedBoundsKeepTheirSign() {
        #expect(NumberFormatting.bound(-0.004, digits: 2) == "-0.00" && NumberFormatting.bound(0.004, digits: 2) == "+0.00")
        #expect(NumberFormatting.bound(-1.236, digits: 2) == "-1.24" && NumberFormatting.bound(0, digits: 2) == "+0.00")
        #expect(NumberFormatting.signed(-0.004, digits: 2) == "+0.00", "other signed numbers keep the old rule")
    }

    /// Equal paired differences (top-1 on a 0.01 grid can tie) leave the spread unmeasured: a
    /// zero-width interval is not evidence, so the verdict is inconclusive, not reproduced.
    @Test func zeroSpreadIsInconclusive() throws {
        let evaluation = VerdictCalculator.evaluate(
            method: [0: 85.65, 1: 85.70], baseline: [0: 84.19, 1: 84.24], direction: .increase, reportedDelta: 1,
            reportedRatio: nil)
        #expect(evaluation.differences[0] == evaluation.differences[1] && evaluation.standardDeviation == 0)
        #expect(evaluation.verdict == .inconclusive && evaluation.reason?.contains("no measurable seed spread") == true)
        #expect(evaluation.meanDifference != nil && evaluation.ratioToReported != nil)
    }

    @Test func speedupUsesLogRatios() throws {
        // Ratios 0.5, 0.55, 0.45: LoMaR slower than MAE on a tiny grid → contradicted, factor not reached.
        let evaluation = VerdictCalculator.evaluate(
            method: [0: 50, 1: 55, 2: 45], baseline: [0: 100, 1: 100, 2: 100], direction: .speedup,
            reportedDelta: nil, reportedRatio: 3.1)
        #expect(evaluation.verdict == .contradicted)
        #expect(evaluation.reachesReportedFactor == FactorReach.no)
        let expected = exp((log(0.5) + log(0.55) + log(0.45)) / 3)
        #expect(abs(try #require(evaluation.meanRatio) - expected) < 1e-12)
        #expect(abs(try #require(evaluation.ratioToReported) - expected / 3.1) < 1e-12)

        let fast = VerdictCalculator.evaluate(
            method: [0: 320, 1: 330, 2: 325], baseline: [0: 100, 1: 100, 2: 100], direction: .speedup,
            reportedDelta: nil, reportedRatio: 3.1)
        #expect(fast.verdict == .reproduced)
        #expect(fast.reachesReportedFactor == FactorReach.yes)
    }

    @Test func noSlowdownComparesWithTheReportedFactor() {
        // 0.4–0.6% slower: inside "<1% slower".
        let parity = VerdictCalculator.evaluate(
            method: [0: 99.5, 1: 199.2, 2: 49.7], baseline: [0: 100, 1: 200, 2: 50], direction: .noSlowdown,
            reportedDelta: nil, reportedRatio: 0.99)
        #expect(parity.verdict == .reproduced)
        // 10% slower: contradicted.
        let slower = VerdictCalculator.evaluate(
            method: [0: 90, 1: 91, 2: 89], baseline: [0: 100, 1: 100, 2: 100], direction: .noSlowdown,
            reportedDelta: nil, reportedRatio: 0.99)
        #expect(slower.verdict == .contradicted)
    }
}
