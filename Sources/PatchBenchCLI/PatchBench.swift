import ArgumentParser
import Foundation
import Harness

/// The `patchbench` command: one file per subcommand, registered here.
@main
struct PatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchbench",
        abstract: "Reproducibility benchmark for patch-level self-supervised ViT pretraining.",
        discussion: """
            Data flow: make-default/convert -> pretrain -> eval -> tables -> check. See README.md. \
            Commands that compute take --threads; results are bit-identical for any thread \
            count and depend only on the OpenBLAS kernel (see `patchbench info`).
            """,
        version: Provenance.versionText,
        subcommands: [Info.self, Bench.self, Convert.self, Inspect.self, MakeDefault.self, Pretrain.self, Features.self,
                      Eval.self, CocoEval.self, Speed.self, Claims.self, Tables.self, Check.self, Methods.self])
}
