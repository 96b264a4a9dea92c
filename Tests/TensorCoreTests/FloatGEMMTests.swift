import FixedOrderGEMM
import Foundation
@_spi(GEMMPaths) import TensorCore
import Testing

/// PatchBench's float32 GEMM: accuracy against float64 products, identical bits on every path,
/// for every split of C, and the argument rules.
@Suite(.serialized) struct FloatGEMMTests {
    /// A product's operands laid out with padded rows (leading dimensions larger than the width).
    struct Problem {
        var transA: Bool, transB: Bool
        var m: Int, n: Int, k: Int
        var alpha: Float, beta: Float
        var a: [Float], b: [Float], c: [Float]
        var lda: Int, ldb: Int, ldc: Int

        init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0, seed: UInt64) {
            (self.transA, self.transB, self.m, self.n, self.k, self.alpha, self.beta) = (transA, transB, m, n, k, alpha, beta)
            lda = (transA ? m : k) + 3
            ldb = (transB ? k : n) + 1
            ldc = n + 2
            var rng = RandomStream(seed: seed)
            a = (0..<((transA ? k : m) * lda)).map { _ in Float(rng.nextNormal()) }
            b = (0..<((transB ? n : k) * ldb)).map { _ in Float(rng.nextNormal()) }
            c = (0..<(m * ldc)).map { _ in Float(rng.nextNormal()) }
        }

        func opA(_ i: Int, _ p: Int) -> Float { transA ? a[p * lda + i] : a[i * lda + p] }
        func opB(_ p: Int, _ j: Int) -> Float { transB ? b[j * ldb + p] : b[p * ldb + j] }

        /// C after the product on one path, called straight (no split).
        func run(_ path: FloatGEMM.Path) -> [Float] {
            var out = c
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
                pb_sgemm(Self.cPath(path), transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, pa.baseAddress!, lda,
                         pb.baseAddress!, ldb, beta, pc.baseAddress!, ldc)
            } } }
            return out
        }

        static func cPath(_ path: FloatGEMM.Path) -> pb_gemm_path {
            switch path {
            case .reference: PB_GEMM_REFERENCE
            case .avx2: PB_GEMM_AVX2
            case .avx512: PB_GEMM_AVX512
            }
        }

        /// C = rows of `rowInit` + alpha·op(A)·op(B) on one path (`pb_sgemm_from_rows`).
        func runFromRows(_ path: FloatGEMM.Path, _ rowInit: [Float]) -> [Float] {
            var out = c
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
                pb_sgemm_from_rows(Self.cPath(path), transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, pa.baseAddress!, lda,
                                   pb.baseAddress!, ldb, rowInit, pc.baseAddress!, ldc)
            } } }
            return out
        }

        /// The same through the engine's entry point, split over `workers` blocks.
        func runFromRowsSplit(workers: Int, _ rowInit: [Float]) -> [Float] {
            let saved = Parallel.workers
            Parallel.workers = workers
            defer { Parallel.workers = saved }
            var out = c
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
                FloatGEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!,
                                   lda: lda, b: pb.baseAddress!, ldb: ldb, rowInit: rowInit, c: pc.baseAddress!, ldc: ldc)
            } } }
            return out
        }

        /// C through the engine's entry point (split over `workers` blocks).
        func runSplit(workers: Int) -> [Float] {
            let saved = Parallel.workers
            Parallel.workers = workers
            defer { Parallel.workers = saved }
            var out = c
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
                Float.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                           b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
            } } }
            return out
        }

        /// Largest |ĉ − c| / bound over C, with c in float64 and the bound γ_K·Σ|a′b| plus one
        /// rounding of beta·C and of each a′ (FixedOrderGEMM.h).
        func errorOverBound(_ result: [Float]) -> Double {
            let u = 0x1p-24, gamma = Double(k + 2) * u / (1 - Double(k + 2) * u)
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var exact = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                    var magnitude = abs(exact)
                    for p in 0..<k {
                        let term = Double(alpha) * Double(opA(i, p)) * Double(opB(p, j))
                        exact += term
                        magnitude += abs(term)
                    }
                    let error = abs(Double(result[i * ldc + j]) - exact)
                    worst = max(worst, magnitude == 0 ? (error == 0 ? 0 : .infinity) : error / (gamma * magnitude))
                }
            }
            return worst
        }
    }

    static let vectorPaths = FloatGEMM.Path.allCases.filter { $0 != .reference }

    static func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    /// The first element whose bits differ (nil: identical); a failure names one index instead of
    /// printing two arrays of ~300,000 values.
    static func firstMismatch(_ x: [Float], _ expected: [UInt32]) -> Int? {
        let actual = bits(x)
        return actual.indices.first { $0 >= expected.count || actual[$0] != expected[$0] }
            ?? (actual.count == expected.count ? nil : actual.count)
    }

    @Test func everyTransposeCaseAndOddSizeIsWithinTheBoundAndIdenticalOnEveryPath() {
        let sizes = [1, 3, 17, 65]
        var seed: UInt64 = 1
        var checked = 0
        for transA in [false, true] {
            for transB in [false, true] {
                for (x, m) in sizes.enumerated() {
                    for (y, n) in sizes.enumerated() {
                        let k = sizes[(x + y + 1) % sizes.count]
                        seed += 1
                        let problem = Problem(transA: transA, transB: transB, m: m, n: n, k: k, seed: seed)
                        let reference = problem.run(.reference)
                        #expect(problem.errorOverBound(reference) <= 1, "\(transA)\(transB) \(m)×\(n)×\(k)")
                        for path in Self.vectorPaths where path.isSupported {
                            #expect(Self.bits(problem.run(path)) == Self.bits(reference),
                                    "\(path.rawValue) differs from the reference: op \(transA)\(transB) \(m)×\(n)×\(k)")
                        }
                        // The padding between rows of C is never written.
                        for i in 0..<m { for j in n..<problem.ldc { #expect(reference[i * problem.ldc + j] == problem.c[i * problem.ldc + j]) } }
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == 64)
    }

    /// The engine's shapes: activations of 64 images × 65 tokens (4160 rows) against the tiny
    /// ViT's weights, forward (Bᵀ), input gradient, and weight gradient (Aᵀ, K = 4160 in
    /// several K blocks, beta = 1), plus attention's scaled product and a beta that rounds.
    @Test func engineShapesAreWithinTheBoundAndIdenticalOnEveryPath() {
        let problems = [
            Problem(transA: false, transB: true, m: 4160, n: 65, k: 192, seed: 11),
            Problem(transA: false, transB: false, m: 4160, n: 17, k: 768, seed: 12),
            Problem(transA: true, transB: false, m: 65, n: 33, k: 4160, beta: 1, seed: 13),
            Problem(transA: false, transB: true, m: 65, n: 65, k: 64, alpha: 0.125, seed: 14),
            Problem(transA: false, transB: false, m: 29, n: 49, k: 300, alpha: 3, beta: 0.7, seed: 15),
        ]
        for problem in problems {
            let reference = problem.run(.reference)
            #expect(problem.errorOverBound(reference) <= 1, "\(problem.m)×\(problem.n)×\(problem.k)")
            for path in Self.vectorPaths where path.isSupported {
                #expect(Self.bits(problem.run(path)) == Self.bits(reference), "\(path.rawValue): \(problem.m)×\(problem.n)×\(problem.k)")
            }
        }
    }

    /// Each way the vector paths choose to lay out a product (Blocked.c) against the reference:
    /// the unpacked kernel for a few rows of C (rows loaded, B loaded or gathered, alpha and a
    /// rounding beta, a last vector of 1–15 columns), B packed instead of read in place once M
    /// passes a few tiles, a wide transposed A packed instead of read in place, and the vector
    /// packing (AVX-512) of every operand: rows of a panel loaded or gathered across rows, alpha,
    /// and part-filled panels of A (40 = 2·14 + 12 rows) and of B (45 = 32 + 13 columns).
    @Test func everyLayoutChoiceIsIdenticalToTheReference() {
        let problems = [
            Problem(transA: false, transB: true, m: 1, n: 5, k: 64, seed: 51),
            Problem(transA: false, transB: false, m: 1, n: 64, k: 5, seed: 52),
            Problem(transA: true, transB: true, m: 3, n: 37, k: 50, alpha: 0.5, beta: 0.7, seed: 53),
            Problem(transA: true, transB: false, m: 4, n: 33, k: 70, beta: 1, seed: 54),
            Problem(transA: false, transB: true, m: 6, n: 40, k: 30, seed: 55),
            Problem(transA: false, transB: false, m: 84, n: 70, k: 40, seed: 56),
            Problem(transA: false, transB: false, m: 85, n: 70, k: 40, seed: 57),
            Problem(transA: true, transB: false, m: 400, n: 100, k: 300, beta: 1, seed: 58),
            Problem(transA: true, transB: false, m: 400, n: 64, k: 300, seed: 59),
            Problem(transA: false, transB: true, m: 40, n: 45, k: 70, alpha: -1.5, seed: 60),
            Problem(transA: true, transB: false, m: 40, n: 45, k: 70, alpha: -1.5, seed: 61),
        ]
        for problem in problems {
            let reference = problem.run(.reference)
            #expect(problem.errorOverBound(reference) <= 1, "\(problem.m)×\(problem.n)×\(problem.k)")
            for path in Self.vectorPaths where path.isSupported {
                #expect(Self.bits(problem.run(path)) == Self.bits(reference),
                        "\(path.rawValue): op \(problem.transA)\(problem.transB) \(problem.m)×\(problem.n)×\(problem.k)")
            }
        }
    }

    /// Starting from a row (a linear layer's bias) gives the bits of filling C's rows with it and
    /// multiplying with beta = 1, on every path and split, whatever C held (NaN is never read),
    /// for a few rows (the unpacked kernel), many, several K blocks, more columns than one column
    /// block (4096), and K = 0.
    @Test func startingFromARowIsFillingTheRowsThenAddingTheProduct() {
        for (index, shape) in [(m: 3, n: 37, k: 50), (m: 4160, n: 70, k: 192), (m: 100, n: 300, k: 700),
                               (m: 16, n: 4200, k: 10), (m: 20, n: 40, k: 0)].enumerated() {
            for transB in [false, true] {
                var problem = Problem(transA: false, transB: transB, m: shape.m, n: shape.n, k: shape.k, alpha: 1,
                                      beta: 1, seed: 60 + UInt64(index))
                var rng = RandomStream(seed: 70 + UInt64(index))
                let rowInit = (0..<shape.n).map { _ in Float(rng.nextNormal()) }
                var filled = problem
                for i in 0..<shape.m { for j in 0..<shape.n { filled.c[i * filled.ldc + j] = rowInit[j] } }
                let expected = Self.bits(filled.run(.reference))
                problem.c = problem.c.enumerated().map { $0.offset % problem.ldc < problem.n ? .nan : $0.element }
                for path in FloatGEMM.Path.allCases where path.isSupported {
                    #expect(Self.firstMismatch(problem.runFromRows(path, rowInit), expected) == nil,
                            "\(path.rawValue): \(shape) transB \(transB)")
                }
                for workers in [1, 2, 3] {
                    #expect(Self.firstMismatch(problem.runFromRowsSplit(workers: workers, rowInit), expected) == nil,
                            "workers \(workers): \(shape) transB \(transB)")
                }
            }
        }
    }

    @Test(.enabled(if: FloatGEMM.Path.avx512.isSupported, "this CPU has no AVX-512F: the avx512f path is not exercised"))
    func avx512PathRunsHere() {
        let problem = Problem(transA: false, transB: false, m: 31, n: 47, k: 200, seed: 21)
        #expect(Self.bits(problem.run(.avx512)) == Self.bits(problem.run(.reference)))
        #expect(FloatGEMM.bestPath == .avx512)
    }

    @Test(.enabled(if: FloatGEMM.Path.avx2.isSupported, "this CPU has no AVX2+FMA: the avx2-fma path is not exercised"))
    func avx2PathRunsHere() {
        let problem = Problem(transA: true, transB: true, m: 31, n: 47, k: 200, seed: 22)
        #expect(Self.bits(problem.run(.avx2)) == Self.bits(problem.run(.reference)))
    }

    /// 4160 rows split over 1, 2 and 3 workers (and by columns when C is wide): same bits.
    @Test func anySplitOfCGivesTheSameBits() {
        for problem in [Problem(transA: false, transB: true, m: 4160, n: 192, k: 64, seed: 31),
                        Problem(transA: true, transB: false, m: 40, n: 4160, k: 70, beta: 1, seed: 32)] {
            let one = Self.bits(problem.runSplit(workers: 1))
            #expect(one == Self.bits(problem.run(.reference)))
            for workers in [2, 3] { #expect(Self.bits(problem.runSplit(workers: workers)) == one, "workers \(workers)") }
        }
    }

    /// beta = 0 never reads C (NaN there stays out); alpha = 0 or K = 0 leaves beta·C.
    @Test func betaZeroIgnoresCAndAlphaZeroScalesC() {
        var problem = Problem(transA: false, transB: false, m: 20, n: 40, k: 9, seed: 41)
        problem.c = problem.c.map { _ in .nan }
        for path in FloatGEMM.Path.allCases where path.isSupported {
            #expect(problem.run(path).enumerated().allSatisfy { $0.offset % problem.ldc >= problem.n || $0.element.isFinite }, "\(path)")
        }
        var scaled = Problem(transA: true, transB: false, m: 5, n: 6, k: 7, alpha: 0, beta: 0.5, seed: 42)
        scaled.a = scaled.a.map { _ in .nan }
        for path in FloatGEMM.Path.allCases where path.isSupported {
            let out = scaled.run(path)
            for i in 0..<5 { for j in 0..<6 { #expect(out[i * scaled.ldc + j] == 0.5 * scaled.c[i * scaled.ldc + j]) } }
        }
    }

    /// A and B may be the same matrix (x·xᵀ); the result equals the product of two copies.
    @Test func aAndBMayAlias() {
        var rng = RandomStream(seed: 51)
        let x = (0..<(37 * 50)).map { _ in Float(rng.nextNormal()) }
        let copy = x.map { $0 }
        var same = [Float](repeating: 0, count: 37 * 37), separate = same
        x.withUnsafeBufferPointer { p in
            same.withUnsafeMutableBufferPointer { c in
                Float.gemm(transA: false, transB: true, m: 37, n: 37, k: 50, alpha: 1, a: p.baseAddress!, lda: 50,
                           b: p.baseAddress!, ldb: 50, beta: 0, c: c.baseAddress!, ldc: 37)
            }
            copy.withUnsafeBufferPointer { q in
                separate.withUnsafeMutableBufferPointer { c in
                    Float.gemm(transA: false, transB: true, m: 37, n: 37, k: 50, alpha: 1, a: p.baseAddress!, lda: 50,
                               b: q.baseAddress!, ldb: 50, beta: 0, c: c.baseAddress!, ldc: 37)
                }
            }
        }
        #expect(Self.bits(same) == Self.bits(separate))
    }

    /// An output that overlaps an input is refused before anything is written.
    @Test func outputOverlappingAnInputStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            var buffer = [Float](repeating: 1, count: 64)
            buffer.withUnsafeMutableBufferPointer { p in
                Float.gemm(transA: false, transB: false, m: 4, n: 4, k: 4, alpha: 1, a: p.baseAddress!, lda: 4,
                           b: p.baseAddress! + 32, ldb: 4, beta: 0, c: p.baseAddress! + 8, ldc: 4)
            }
        }
    }

    /// Forcing a path changes which code runs, never the result (the switch the smoke-step
    /// test uses).
    @Test func forcedPathIsObeyedAndRestorable() {
        let problem = Problem(transA: false, transB: true, m: 300, n: 200, k: 100, seed: 61)
        var results: [[UInt32]] = []
        for path in FloatGEMM.Path.allCases where path.isSupported {
            FloatGEMM.forcedPath = path
            #expect(FloatGEMM.path == path)
            results.append(Self.bits(problem.runSplit(workers: 2)))
        }
        FloatGEMM.forcedPath = nil
        #expect(FloatGEMM.path == FloatGEMM.bestPath)
        #expect(Set(results).count == 1)
    }
}
