import AnchorWorkloads
import Benchmark
import CBLAS
import Evaluation
import Foundation
import FixedOrderGEMM
import Layers
import TensorCore

/// The anchor's workloads (../shared/bench/anchor_vit.py) and the hot kernels behind them.
/// Throughput per workload = batch / (wall time per iteration); compare against
/// `python3 anchor_vit.py --threads 2 --only NAME` in the same session.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal],
                                           warmupIterations: 3, scalingFactor: .one,
                                           maxDuration: .seconds(20), maxIterations: 15)
    BLAS.setThreads(2)

    for name in ["sup-tiny32", "mae-tiny32", "infer-tiny32", "sup-small64"] {
        let spec = WorkloadSpec.named(name)!
        Benchmark("workload.\(name)") { (benchmark: Benchmark, workload: PreparedWorkload) in
            for _ in benchmark.scaledIterations { blackHole(workload.step()) }
        } setup: {
            PreparedWorkload(spec)
        }
    }

    gemmBenchmarks()

    // sgemm at the ViT's shapes (M = 64 images × 65 tokens), through the engine's linear op.
    for (m, k, n) in [(4160, 192, 576), (4160, 192, 768), (4160, 768, 192), (1024, 1024, 1024)] {
        Benchmark("kernel.linear.\(m)x\(k)x\(n)") { (benchmark: Benchmark, inputs: (Tensor, Tensor)) in
            for _ in benchmark.scaledIterations { blackHole(Tensor.withoutGrad { inputs.0.linear(weight: inputs.1, bias: nil) }) }
        } setup: {
            var r = RandomStream(seed: 1)
            return (Tensor((0..<(m * k)).map { _ in r.nextNormal() }, shape: [m, k]),
                    Tensor((0..<(n * k)).map { _ in r.nextNormal() }, shape: [n, k]))
        }
    }

    Benchmark("kernel.gelu.4160x768") { (benchmark: Benchmark, x: Tensor) in
        for _ in benchmark.scaledIterations { blackHole(Tensor.withoutGrad { x.gelu() }) }
    } setup: {
        var r = RandomStream(seed: 2)
        return Tensor((0..<(4160 * 768)).map { _ in r.nextNormal() }, shape: [4160, 768])
    }

    Benchmark("kernel.layerNorm.4160x192") { (benchmark: Benchmark, inputs: (Tensor, Tensor, Tensor)) in
        for _ in benchmark.scaledIterations {
            blackHole(Tensor.withoutGrad { inputs.0.layerNorm(weight: inputs.1, bias: inputs.2, eps: 1e-6) })
        }
    } setup: {
        var r = RandomStream(seed: 3)
        return (Tensor((0..<(4160 * 192)).map { _ in r.nextNormal() }, shape: [4160, 192]),
                Tensor.full(1, [192]), Tensor.full(0, [192]))
    }

    Benchmark("kernel.attention.fwd-bwd.64x65x576") { (benchmark: Benchmark, qkv: Tensor) in
        for _ in benchmark.scaledIterations {
            qkv.zeroGrad()
            Tensor.selfAttention(qkv: qkv, heads: 3).sum().backward()
        }
    } setup: {
        var r = RandomStream(seed: 4)
        return Tensor((0..<(64 * 65 * 576)).map { _ in r.nextNormal() * 0.1 }, shape: [64, 65, 576], requiresGrad: true)
    }

    // The linear probe at the size, 50,000 × 192, 10 classes: the whole 17-value sweep
    // + refit, ten loss evaluations (what L-BFGS repeats), and one preconditioner build.
    Benchmark("probe.linear.sweep.50000x192", configuration: .init(maxDuration: .seconds(300), maxIterations: 3)) {
        (benchmark: Benchmark, data: ProbeData) in
        for _ in benchmark.scaledIterations {
            var rng = RandomStream(seed: 0)
            blackHole(try LinearProbe.fit(trainFeatures: data.features, trainLabels: data.labels, dimension: ProbeData.dimension,
                                          classes: ProbeData.classes, rng: &rng))
        }
    } setup: {
        ProbeData(rows: 50_000)
    }
    Benchmark("probe.linear.lossAndGradient.40000x192.x10") { (benchmark: Benchmark, prepared: MultinomialLogisticLoss) in
        var loss = prepared
        let theta = [Double](repeating: 0.01, count: loss.parameterCount)
        var gradient = theta
        for _ in benchmark.scaledIterations {
            for _ in 0..<10 { blackHole(loss.valueAndGradient(theta, gradient: &gradient)) }
        }
    } setup: {
        ProbeData(rows: 40_000).loss(inverseStrength: 100)
    }
    Benchmark("probe.linear.preconditioner.40000x192") { (benchmark: Benchmark, loss: MultinomialLogisticLoss) in
        let theta = [Double](repeating: 0.01, count: loss.parameterCount)
        for _ in benchmark.scaledIterations { blackHole(ClassBlockPreconditioner(loss: loss, at: theta)) }
    } setup: {
        ProbeData(rows: 40_000).loss(inverseStrength: 100)
    }
}

/// One single-threaded product per GEMM path this CPU has, and OpenBLAS's sgemm (one thread)
/// beside them, at the ViT's shapes. Besides time, each reports `percentOfPeak`: GFLOP/s over
/// the FMA peak of the path's vector width on one core, measured in the same process. Its
/// tolerance (below) fails `swift package benchmark baseline check` / `thresholds check` when
/// a path loses more than 10 % of its share of peak against the stored thresholds.
func gemmBenchmarks() {
    let percentOfPeak = BenchmarkMetric.custom("percentOfPeak", polarity: .prefersLarger, useScalingFactor: false)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, percentOfPeak], warmupIterations: 3, scalingFactor: .one,
        maxDuration: .seconds(5), maxIterations: 30,
        thresholds: [percentOfPeak: .init(relative: [.p50: 10])])
    let shapes: [(m: Int, k: Int, n: Int, transA: Bool, transB: Bool)] = [
        (4160, 192, 576, false, true), (4160, 768, 192, false, false), (768, 4160, 192, true, false),
        (65, 64, 65, false, true), (1024, 1024, 1024, false, false),
        (1, 64, 5, false, true),  // SelfPatch's one-query aggregation: the unpacked small-product kernel
        (768, 29120, 192, true, false),  // Spatial Reasoning's weight gradient (448 views × 65 tokens): A and B packed
    ]
    let paths: [(name: String, path: pb_gemm_path?)] =
        FloatGEMM.Path.allCases.filter { $0 != .reference && $0.isSupported }.map { ($0.rawValue, $0.cPath) } + [("openblas", nil)]
    for (name, path) in paths {
        let peak = (path == nil ? FloatGEMM.bestPath : FloatGEMM.Path(path!)).measuredPeakGFLOPs(threads: 1)
        for s in shapes {
            let ops = (s.transA ? "t" : "n") + (s.transB ? "t" : "n")
            let flops = 2 * Double(s.m) * Double(s.n) * Double(s.k)
            Benchmark("gemm.\(name).\(s.m)x\(s.k)x\(s.n)-\(ops)", configuration: configuration) {
                (benchmark: Benchmark, operands: GEMMOperands) in
                var c = [Float](repeating: 0, count: s.m * s.n)
                let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
                var best = Double.infinity
                for _ in benchmark.scaledIterations {
                    let start = DispatchTime.now().uptimeNanoseconds
                    operands.a.withUnsafeBufferPointer { pa in operands.b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            if let path {
                                pb_sgemm(path, s.transA ? 1 : 0, s.transB ? 1 : 0, s.m, s.n, s.k, 1, pa.baseAddress!, lda,
                                         pb.baseAddress!, ldb, 0, pc.baseAddress!, s.n)
                            } else {
                                cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans,
                                            s.transB ? CblasTrans : CblasNoTrans, Int32(s.m), Int32(s.n), Int32(s.k), 1,
                                            pa.baseAddress!, Int32(lda), pb.baseAddress!, Int32(ldb), 0, pc.baseAddress!,
                                            Int32(s.n))
                            }
                        }
                    } }
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
                benchmark.measurement(percentOfPeak, Int((100 * flops / best / 1e9 / peak).rounded()))
                blackHole(c)
            } setup: {
                openblas_set_num_threads(1)
                return GEMMOperands(count: (s.m * s.k, s.k * s.n))
            }
        }
    }
}

struct GEMMOperands {
    let a: [Float], b: [Float]
    init(count: (Int, Int)) {
        var r = RandomStream(seed: 7)
        a = (0..<count.0).map { _ in Float(r.nextNormal()) }
        b = (0..<count.1).map { _ in Float(r.nextNormal()) }
    }
}

extension FloatGEMM.Path {
    var cPath: pb_gemm_path {
        switch self {
        case .reference: PB_GEMM_REFERENCE
        case .avx2: PB_GEMM_AVX2
        case .avx512: PB_GEMM_AVX512
        }
    }

    init(_ path: pb_gemm_path) {
        self = path == PB_GEMM_AVX512 ? .avx512 : path == PB_GEMM_AVX2 ? .avx2 : .reference
    }
}

/// Features shaped like a ViT's CLS tokens for the linear-probe benchmarks: 192 strongly
/// correlated columns (a random 32-dimensional latent, mixed) with overlapping classes, so the
/// weakly regularised end of the C grid is as ill-conditioned as on real encoders.
struct ProbeData {
    static let dimension = 192
    static let classes = 10
    static let latent = 32
    let features: [Float]
    let labels: [Int32]

    init(rows: Int) {
        var rng = RandomStream(seed: 5)
        let d = Self.dimension, l = Self.latent, k = Self.classes
        let means = (0..<(k * l)).map { _ in 0.5 * rng.nextNormal() }
        let mixing = (0..<(l * d)).map { _ in rng.nextNormal() / Double(l).squareRoot() }
        var features = [Float](repeating: 0, count: rows * d)
        var labels = [Int32](repeating: 0, count: rows)
        var z = [Double](repeating: 0, count: l)
        for i in 0..<rows {
            let y = rng.nextInt(below: k)
            labels[i] = Int32(y)
            for j in 0..<l { z[j] = means[y * l + j] + rng.nextNormal() }
            for c in 0..<d {
                var sum = 0.3 * rng.nextNormal()
                for j in 0..<l { sum += z[j] * mixing[j * d + c] }
                features[i * d + c] = Float(sum)
            }
        }
        self.features = features
        self.labels = labels
    }

    func loss(inverseStrength: Double) -> MultinomialLogisticLoss {
        let standardizer = FeatureStandardizer(fitting: features, dimension: Self.dimension)
        return MultinomialLogisticLoss(features: standardizer.apply(features), labels: labels, dimension: Self.dimension,
                                       classes: Self.classes, inverseStrength: inverseStrength)
    }
}
