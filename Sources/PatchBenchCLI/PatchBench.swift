import ArgumentParser
import Foundation

/// The `patchbench` command: one file per subcommand, registered here.
@main
struct PatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchbench",
        abstract: "Reproducibility benchmark for patch-level self-supervised ViT pretraining.",
        discussion: """
            Data flow: convert -> pretrain -> eval -> tables -> check. See README.md.
            BLAS threads follow OPENBLAS_NUM_THREADS or --threads where a command takes it.
            """,
        subcommands: [Info.self, Bench.self, Convert.self, Inspect.self, MakeDefault.self, CocoEval.self, Claims.self, Tables.self, Check.self,
                      Features.self, Eval.self])
}
