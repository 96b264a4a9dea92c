import Testing
import Results

@Suite struct StudentTTests {
    @Test func quantilesMatchScipy() {
        #expect(tQuantileReference.count == 312)
        var worst = 0.0
        for reference in tQuantileReference {
            let value = StudentT.quantile(reference.probability, degreesOfFreedom: reference.degreesOfFreedom)
            let error = abs(value - reference.quantile) / max(1, abs(reference.quantile))
            worst = max(worst, error)
            let label = "df \(reference.degreesOfFreedom) p \(reference.probability)"
            #expect(error < 1e-9, "\(label): \(value) vs scipy \(reference.quantile)")
        }
        #expect(worst < 1e-9)
    }

    @Test func lowerTailIsSymmetric() {
        for df in [1.0, 2.0, 3.0, 7.0, 30.0] {
            #expect(StudentT.quantile(0.025, degreesOfFreedom: df) == -StudentT.quantile(0.975, degreesOfFreedom: df))
        }
        #expect(StudentT.quantile(0.5, degreesOfFreedom: 5) == 0)
    }

    @Test func cdfInvertsQuantile() {
        for df in [1.0, 2.0, 4.0, 9.0, 100.0] {
            for p in [0.55, 0.8, 0.975, 0.999] {
                let t = StudentT.quantile(p, degreesOfFreedom: df)
                #expect(abs(StudentT.cdf(t, degreesOfFreedom: df) - p) < 1e-12)
            }
        }
    }
}
