import AnchorWorkloads
import Benchmark
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

    // sgemm at the ViT's shapes (M = 64 images × 65 tokens).
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
}
