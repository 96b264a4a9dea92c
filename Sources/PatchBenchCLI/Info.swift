import ArgumentParser
import Foundation
import TensorCore

/// `patchbench info`: versions, BLAS library and kernel, thread count, CPU features.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print versions, the BLAS library and kernel, thread counts and CPU features.")

    func run() throws {
        print("patchbench \(PatchBenchVersion.string)")
    }
}
