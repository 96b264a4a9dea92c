import Foundation
import SafeIO
import Testing
import Results

@Suite struct GoldenTests {
    func makeGolden(_ tree: FakeRunTree, coretype: String? = "HASWELL") throws -> (GoldenFile, RunCollection) {
        try tree.addStandardRuns()
        let collection = try RunCollector.collect(root: tree.runs)
        let environment = GoldenCheck.environment(of: collection, budget: "tiny", openblasCoretype: coretype)
        let golden = try GoldenCheck.makeGolden(
            from: collection, budget: "tiny", environment: environment, tolerance: 0.5, lossTolerance: 0.01,
            bitwise: true, previous: nil)
        return (golden, collection)
    }

    @Test func freshGoldenPassesAndRoundTrips() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        let (golden, collection) = try makeGolden(tree)
        #expect(golden.environment == GoldenFile.Environment(openblasCoretype: "HASWELL", threads: 2,
            blas: "OpenBLAS 0.3.21 Haswell", gemmOrder: "fixed-order-fma/1"))
        let path = tree.root + "/goldens/tiny.json"
        try AtomicFile.write(golden.canonicalText(), to: path, createFolder: true)
        let loaded = try GoldenFile.load(path: path)
        #expect(loaded == golden)
        let report = GoldenCheck.check(loaded, against: collection, environment: golden.environment)
        #expect(report.passed)
        #expect(report.checkedCount == golden.entries.count)
        #expect(report.notes.isEmpty)
    }

    @Test func perturbedNumberFailsAndIsNamed() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        var (golden, collection) = try makeGolden(tree)
        let index = try #require(golden.entries.firstIndex {
            $0.method == "mae" && $0.seed == 1 && $0.probe == "linear" && $0.metric == "top1"
        })
        // Within tolerance but not bit-identical: fails because the environment matches and the entry is bitwise.
        golden.entries[index].value += 0.001
        golden.entries[index].valueBits = GoldenFile.bits(golden.entries[index].value)
        let exact = GoldenCheck.check(golden, against: collection, environment: golden.environment)
        #expect(exact.failures.count == 1)
        #expect(exact.failures.first?.contains("tiny/mae/seed1 linear/top1") == true)
        #expect(exact.failures.first?.contains("bit-identical") == true)
        // Another environment: the same small change falls back to the tolerance and passes, with a note.
        let other = GoldenFile.Environment(openblasCoretype: "SKYLAKEX", threads: 2, blas: "OpenBLAS 0.3.21 Haswell",
                                           gemmOrder: "fixed-order-fma/1")
        let fallback = GoldenCheck.check(golden, against: collection, environment: other)
        #expect(fallback.passed)
        #expect(fallback.notes.first?.contains("OPENBLAS_CORETYPE HASWELL → SKYLAKEX") == true)
        // Outside the tolerance: fails in either environment, naming golden, measured and tolerance.
        golden.entries[index].value += 1
        golden.entries[index].valueBits = GoldenFile.bits(golden.entries[index].value)
        let far = GoldenCheck.check(golden, against: collection, environment: other)
        #expect(far.failures.count == 1)
        let message = try #require(far.failures.first)
        #expect(message.contains("tiny/mae/seed1 linear/top1") && message.contains("tolerance 0.5")
            && message.contains("golden 81.301") && message.contains("measured 80.3"))
    }

    /// Another OpenBLAS kernel relaxes only the float64 probes (linear); a number of any other
    /// probe stays bitwise. Another float32 GEMM order or thread count relaxes every number.
    @Test func openBLASKernelRelaxesOnlyTheFloat64Probes() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        var (golden, collection) = try makeGolden(tree)
        let index = try #require(golden.entries.firstIndex {
            $0.method == "mae" && $0.seed == 1 && $0.probe == "seg" && $0.metric == "mIoU"
        })
        golden.entries[index].value += 0.001
        golden.entries[index].valueBits = GoldenFile.bits(golden.entries[index].value)
        var otherKernel = golden.environment
        otherKernel.openblasCoretype = "ZEN"
        otherKernel.blas = "OpenBLAS 0.3.21 Zen"
        let kernel = GoldenCheck.check(golden, against: collection, environment: otherKernel)
        #expect(kernel.failures.count == 1)
        #expect(kernel.failures.first?.contains("tiny/mae/seed1 seg/mIoU") == true)
        #expect(kernel.failures.first?.contains("bit-identical") == true)
        #expect(kernel.notes.first?.contains("float64 probes (linear)") == true)
        var otherOrder = golden.environment
        otherOrder.gemmOrder = nil
        let order = GoldenCheck.check(golden, against: collection, environment: otherOrder)
        #expect(order.passed)
        #expect(order.notes.first?.contains("float32 GEMM order fixed-order-fma/1 → OpenBLAS or mixed") == true)
    }

    /// A golden made on a subset of the images and runs evaluated on all of them (or the reverse)
    /// differ in protocol: the report says so instead of "measured differs".
    @Test func aSubsetMismatchIsReportedAsProtocol() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        var (golden, collection) = try makeGolden(tree)
        let linear = golden.entries.indices.filter { golden.entries[$0].probe == "linear" }
        #expect(linear.allSatisfy { golden.entries[$0].subset == "all" })
        #expect(golden.entries.filter { $0.probe == "pretrain" }.allSatisfy { $0.subset == nil })
        golden.entries[linear[0]].subset = "first 6000 train / 2000 test images"
        let report = GoldenCheck.check(golden, against: collection, environment: golden.environment)
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.contains("protocol mismatch, not a measured difference: evaluated on all, "
            + "the golden on first 6000 train / 2000 test images") == true, "\(report.failures)")
    }

    @Test func missingNumberFails() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        let (golden, _) = try makeGolden(tree)
        try FileManager.default.removeItem(atPath: tree.runs + "/tiny/lomar/seed2/eval/seg.json")
        let collection = try RunCollector.collect(root: tree.runs)
        let report = GoldenCheck.check(golden, against: collection, environment: golden.environment)
        #expect(report.failures.count == 2)  // mIoU and aAcc
        #expect(report.failures.allSatisfy { $0.contains("tiny/lomar/seed2 seg/") && $0.contains("missing") })
    }

    @Test func corruptGoldenNamesTheFile() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        let (golden, _) = try makeGolden(tree)
        var text = golden.canonicalText()
        text = text.replacingOccurrences(of: "\"value_bits\": \"0x", with: "\"value_bits\": \"0y")
        let path = tree.root + "/bad.json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try GoldenFile.load(path: path)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("bad.json") && "\(error)".contains("value_bits"))
        }
    }

    @Test func updateKeepsExistingTolerances() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        var (golden, collection) = try makeGolden(tree)
        golden.entries[0].tolerance = 0.123
        golden.entries[0].bitwise = false
        let updated = try GoldenCheck.makeGolden(
            from: collection, budget: "tiny", environment: golden.environment, tolerance: 0.5, lossTolerance: 0.01,
            bitwise: true, previous: golden)
        #expect(updated.entries[0].tolerance == 0.123 && !updated.entries[0].bitwise)
        #expect(updated.entries[1].tolerance == golden.entries[1].tolerance)
    }
}
