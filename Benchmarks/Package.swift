// swift-tools-version: 6.1
// PatchBench's package-benchmark suite, a separate package so the main build (and CI) never
// pays for the benchmark plugin and its allocator hooks.
//   cd Benchmarks && swift package benchmark                 # run everything
//   swift package benchmark --filter "workload.*"            # only the anchor workloads
//   swift package benchmark baseline update main / baseline compare main
// OpenBLAS's kernel follows OPENBLAS_CORETYPE; record it with every number you keep.
import PackageDescription

let package = Package(
    name: "PatchBenchBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "PatchBench", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PatchBenchBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TensorCore", package: "PatchBench"),
                .product(name: "FixedOrderGEMM", package: "PatchBench"),
                .product(name: "Layers", package: "PatchBench"),
                .product(name: "AnchorWorkloads", package: "PatchBench"),
                .product(name: "Evaluation", package: "PatchBench"),
            ],
            path: "PatchBenchBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
