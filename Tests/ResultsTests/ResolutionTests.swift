import Foundation
import Harness
import Results
import Testing

/// resolution.md: the usable range and the smallest difference n = 3 seeds can resolve.
@Suite struct ResolutionTests {
    @Test func minimumDetectableDifferenceIsTheCIHalfWidthOfIndependentSeeds() {
        // t(0.975, 2) = 4.302653; √2 · 1 / √3.
        let mdd = ResolutionReport.minimumDetectableDifference(pooledStandardDeviation: 1, seeds: 3)
        #expect(abs(mdd - 4.302653 * 2.0.squareRoot() / 3.0.squareRoot()) < 1e-5)
        #expect(ResolutionReport.minimumDetectableDifference(pooledStandardDeviation: 1, seeds: 10) < mdd / 3)
    }

    @Test func rangeSpreadAndResolvabilityFollowTheRuns() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()   // mae, lomar, random-init: linear top-1 seed jitter 0, +0.3, −0.2
        for seed in 0..<3 { try tree.addRun(method: "supervised", seed: seed, top1: 90 + Double(seed)) }
        let collection = try RunCollector.collect(root: tree.runs)
        let claims = try ClaimsLoader.load(path: ClaimsTests.claimsPath, implemented: Method.implemented)
        let results = ClaimsEvaluator.evaluate(claims, runs: collection, budget: "tiny")
        let text = ResolutionReport.markdown(collection: collection, claimResults: [("tiny", results)])
        // Floor 40.03, supervised 91.00: range +50.97. Pooled s over four methods: variances 0.0633 (mae,
        // random-init), 0.0633 + lomar's (jitter + 0.05·seed: 0, 0.35, −0.1 → 0.0608), supervised 1.
        let row = text.split(separator: "\n").first { $0.hasPrefix("| linear | top1 |") }
        #expect(row != nil, "no linear top1 row in\n\(text)")
        let cells = row!.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(cells[3] == "40.03" && cells[4] == "91.00" && cells[5] == "+50.97")
        // The trained methods' best mean: lomar's (81 + 81.35 + 80.9) / 3; neither floor nor reference rows count.
        #expect(cells[6] == "81.08 (lomar)")
        let variances = [0.063333, 0.063333, 0.060833, 1.0]
        let pooled = (variances.reduce(0, +) / 4).squareRoot()
        #expect(cells[7] == String(format: "%.2f (4)", pooled))
        let mdd = ResolutionReport.minimumDetectableDifference(pooledStandardDeviation: pooled, seeds: 3)
        #expect(cells[8] == String(format: "%.2f", mdd))
        #expect(!text.contains("no upper bound"))
        // LoMaR's linear claims report deltas around 1–2 points: below this MDD (~1.9), some or none resolve;
        // every family on a probe without runs says so.
        #expect(text.contains("unknown (no seed spread yet)"))
        #expect(text.contains("| no |") || text.contains(" of "))
    }

    /// resolution.md over the standard runs and a supervised row at `top1 + seed` for seeds 0–2,
    /// with its linear top-1 row split into cells.
    func resolution(supervisedTop1 top1: Double) throws -> (text: String, cells: [String]) {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        for seed in 0..<3 { try tree.addRun(method: "supervised", seed: seed, top1: top1 + Double(seed)) }
        let collection = try RunCollector.collect(root: tree.runs)
        let claims = try ClaimsLoader.load(path: ClaimsTests.claimsPath, implemented: Method.implemented)
        let text = ResolutionReport.markdown(collection: collection,
                                             claimResults: [("tiny", ClaimsEvaluator.evaluate(claims, runs: collection, budget: "tiny"))])
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("| linear | top1 |") })
        return (text, row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    /// A supervised row below the floor (as for the det probe at tiny) is named as no upper bound.
    @Test func aSupervisedRowBelowTheFloorIsNamed() throws {
        let (text, cells) = try resolution(supervisedTop1: 30)
        #expect(cells[5] == "-9.03" && cells[6] == "81.08 (lomar)", "\(cells)")
        #expect(text.contains("The supervised reference lies below the floor for linear top1"), "\(text)")
        #expect(!text.contains("lies above the supervised reference"), "\(text)")
    }

    /// A trained method above the supervised row (as for the seg probe at tiny seed 0) is named too.
    @Test func aTrainedMethodAboveTheSupervisedRowIsNamed() throws {
        let (text, cells) = try resolution(supervisedTop1: 70)
        #expect(cells[4] == "71.00" && cells[5] == "+30.97" && cells[6] == "81.08 (lomar)", "\(cells)")
        #expect(text.contains("A trained method's mean lies above the supervised reference for linear top1"), "\(text)")
        #expect(text.contains("(lomar): the supervised row is no upper bound there either"), "\(text)")
        #expect(!text.contains("lies below the floor"), "\(text)")
    }
}
