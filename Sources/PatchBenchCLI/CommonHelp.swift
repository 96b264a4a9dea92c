/// Help texts that several subcommands share, so one option reads the same everywhere.
enum CommonHelp {
    /// --threads: every computing command pins the kernels to this many threads. PatchBench's own
    /// float32 GEMM gives the same bits for any thread count; the number is recorded.
    static let threads = "Kernel threads (default 2). Results are bit-identical for any count; the count is recorded."
}
