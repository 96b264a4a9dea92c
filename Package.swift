// swift-tools-version: 6.1
// PatchBench: a reproducibility benchmark for patch-level self-supervised ViT pretraining.
//
// One target per concept (see README.md and ../shared/docs/design.md). System libraries come
// through module maps with pkg-config, so no unsafe flags are needed:
//   OpenBLAS (CBLAS), HDF5 (CHDF5), libpng (CPNG), TurboJPEG (CTurboJPEG), libcrypto (COpenSSL).
// FixedOrderGEMM is a plain C target (float32 GEMM with one accumulation order on every CPU;
// its vector paths use per-function target attributes, so it needs no flags either).
// The Swift 5 language mode is used because the numeric kernels share raw buffers across
// `DispatchQueue.concurrentPerform` workers, which Swift 6's checker cannot see are disjoint.
import PackageDescription

let package = Package(
    name: "PatchBench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "patchbench", targets: ["PatchBenchCLI"]),
        .executable(name: "patchbench-fuzz", targets: ["PatchBenchFuzz"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "FixedOrderGEMM", targets: ["FixedOrderGEMM"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "Optim", targets: ["Optim"]),
        .library(name: "AnchorWorkloads", targets: ["AnchorWorkloads"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Engine.
        .target(name: "FixedOrderGEMM", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "TensorCore", dependencies: ["CBLAS", "FixedOrderGEMM"]),
        .target(name: "SafeIO"),
        .target(name: "HDF5Kit", dependencies: ["CHDF5", "COpenSSL", "SafeIO"]),
        .target(name: "Layers", dependencies: ["TensorCore"]),
        .target(name: "Optim", dependencies: ["TensorCore"]),
        .target(name: "AnchorWorkloads", dependencies: ["TensorCore", "Layers", "Optim", "CBLAS", "Objectives", "Datasets"]),
        .target(name: "Checkpoint", dependencies: ["TensorCore", "Layers", "Optim", "HDF5Kit"]),

        // Data, objectives, evaluation, harness, results.
        // PNGRead: libpng's full read API in C (its errors longjmp), decoding as Pillow does.
        .target(name: "PNGRead", dependencies: ["CPNG"]),
        .target(name: "Datasets", dependencies: ["TensorCore", "HDF5Kit", "CPNG", "PNGRead", "CTurboJPEG", "COpenSSL", "CZlib", "SafeIO"]),
        .target(name: "Metrics", dependencies: []),
        .target(name: "Evaluation", dependencies: ["TensorCore", "Metrics", "CBLAS", "Layers", "Optim", "Checkpoint", "HDF5Kit", "Datasets", "Objectives",
                                           "SafeIO"]),
        .target(name: "Results", dependencies: ["SafeIO"]),
        // The commit the binary is built from (run.json's build_commit), written by a build-tool plugin.
        .plugin(name: "SourceStamp", capability: .buildTool()),
        .target(name: "BuildStamp", plugins: ["SourceStamp"]),
        .target(name: "Objectives", dependencies: ["TensorCore", "Layers", "Datasets"]),
        .target(name: "Harness", dependencies: ["TensorCore", "Layers", "Optim", "Checkpoint", "HDF5Kit", "Datasets", "Objectives", "Results",
                                               "Evaluation", "SafeIO", "BuildStamp"]),

        // The command-line tool: one file per subcommand.
        .executableTarget(
            name: "PatchBenchCLI",
            dependencies: [
                "TensorCore", "Layers", "Optim", "Checkpoint", "HDF5Kit", "Datasets", "Metrics", "AnchorWorkloads",
                "Evaluation", "Results", "Objectives", "Harness", "SafeIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Fuzzing (Documentation/fuzzing.md): the parsers of untrusted files as targets, and one
        // executable that is a libFuzzer driver under -sanitize=fuzzer -DFUZZING, a replayer otherwise.
        .target(name: "FuzzTargets", dependencies: ["Datasets", "Harness", "Results"]),
        .executableTarget(name: "PatchBenchFuzz", dependencies: ["FuzzTargets"]),

        // Test support and tests.
        .target(name: "TestSupport", dependencies: ["TensorCore"]),
        .testTarget(name: "SafeIOTests", dependencies: ["SafeIO"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport", "FixedOrderGEMM"]),
        .testTarget(name: "LayersTests", dependencies: ["TensorCore", "Layers", "Optim", "Checkpoint", "HDF5Kit", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "HDF5Kit", "TensorCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "Evaluation", "TensorCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "Harness", "SafeIO"]),
        .testTarget(name: "ObjectivesTests", dependencies: ["Objectives", "Layers", "Optim", "TensorCore", "TestSupport", "Datasets"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "Objectives", "Checkpoint", "Layers", "Optim", "TensorCore", "HDF5Kit",
                                                       "Datasets", "TestSupport", "SafeIO", "Results"],
                    exclude: ["HelpSnapshots"]),
        .testTarget(name: "FuzzSeedTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "EvaluationCLITests",
                    dependencies: ["Evaluation", "Datasets", "Checkpoint", "Layers", "Optim", "HDF5Kit", "Metrics", "TensorCore", "Results",
                                 "SafeIO", "Objectives"]),
    ],
    swiftLanguageModes: [.v5]
)
