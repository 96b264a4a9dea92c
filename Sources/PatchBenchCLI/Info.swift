import ArgumentParser
import Foundation
import TensorCore

/// `patchbench info`: versions, BLAS library and kernel, thread count, CPU features.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print versions, the GEMM path, the BLAS library and kernel, thread counts and CPU features.",
        discussion: """
            Float32 products run on PatchBench's own GEMM: gemm_order names its accumulation order, \
            which the bits of every result depend on, and gemm_path the code path this CPU runs \
            (avx512f, avx2-fma or reference), which changes only the speed. OpenBLAS serves the \
            float64 products (the linear probe); their bits follow its kernel (blas_core, which \
            OPENBLAS_CORETYPE selects; blas_note warns when OpenBLAS fell back to a kernel without \
            the CPU's AVX2). --json prints one JSON object instead of text.
            """)

    @Option(help: ArgumentHelp(stringLiteral: CommonHelp.threads)) var threads: Int = 2
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        BLAS.setThreads(threads)
        let env = ProcessInfo.processInfo.environment
        let cpu = Self.cpuInfo()
        var fields: [(String, String)] = [
            ("patchbench", PatchBenchVersion.string),
            ("swift", Self.swiftVersion),
            ("os", ProcessInfo.processInfo.operatingSystemVersionString),
            ("gemm_order", FloatGEMM.order),
            ("gemm_path", FloatGEMM.path.rawValue),
            ("gemm_paths_supported", FloatGEMM.Path.allCases.filter(\.isSupported).map(\.rawValue).joined(separator: " ")),
            ("blas", "OpenBLAS (float64 products)"),
            ("blas_config", BLAS.config.trimmingCharacters(in: .whitespaces)),
            ("blas_core", BLAS.coreName),
            ("blas_threads", String(BLAS.threads)),
            ("kernel_workers", String(Parallel.workers)),
            ("openblas_coretype_env", env["OPENBLAS_CORETYPE"] ?? "(unset)"),
            ("openblas_l2_size_env", env["OPENBLAS_L2_SIZE"] ?? "(unset)"),
            ("cpu_model", cpu.model),
            ("cpu_cores", String(ProcessInfo.processInfo.activeProcessorCount)),
            ("cpu_features", cpu.features.joined(separator: " ")),
            ("memory_gib", String(format: "%.1f", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824)),
        ]
        if let note = BLAS.slowKernelNote { fields.append(("blas_note", note)) }
        fields.sort { $0.0 < $1.0 }
        if json {
            let object = Dictionary(uniqueKeysWithValues: fields)
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let width = fields.map(\.0.count).max() ?? 0
            for (k, v) in fields { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
        }
    }

    static var swiftVersion: String {
        #if compiler(>=6.3)
        return "6.3 or newer"
        #elseif compiler(>=6.0)
        return "6.x"
        #else
        return "5.x"
        #endif
    }

    /// Model name and the SIMD features that matter for the kernels, from /proc/cpuinfo.
    static func cpuInfo() -> (model: String, features: [String]) {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return ("unknown", []) }
        var model = "unknown", flags: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("model name"), let v = line.split(separator: ":").last { model = v.trimmingCharacters(in: .whitespaces) }
            if line.hasPrefix("flags"), let v = line.split(separator: ":").last { flags = Set(v.split(separator: " ").map(String.init)) }
        }
        let interesting = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni", "amx_tile"]
        return (model, interesting.filter { flags.contains($0) })
    }
}
