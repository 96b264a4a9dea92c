import Foundation
import Testing

/// The CLI finds its checkout's budgets and claims registry from its own location, so it works
/// from any folder, and records the checkout's commit there.
@Suite struct CLIFromAnyFolderTests {
    func run(_ arguments: [String], in folder: String) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: KillResumeTests.executable!)
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: folder)
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func budgetsClaimsAndProvenanceFromAnotherFolder() throws {
        let folder = HarnessFixtures.temporaryDirectory("elsewhere")
        let claims = try run(["claims", "--method", "lomar"], in: folder)
        #expect(claims.status == 0, "\(claims.output)")
        #expect(claims.output.contains("lomar_vs_mae_pretrain448_speed"))
        let pretrain = try run(["pretrain", "--method", "random-init", "--budget", "smoke", "--out", folder + "/run",
                                "--data", HarnessFixtures.pack, "--progress", "quiet"], in: folder)
        #expect(pretrain.status == 0, "\(pretrain.output)")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/run/run.json")))
        let commit = ((manifest as? [String: Any])?["provenance"] as? [String: Any])?["git_commit"] as? String
        #expect(commit != nil && commit != "unknown", "git_commit \(commit ?? "nil")")
        let version = try run(["--version"], in: folder)
        #expect(version.status == 0 && version.output.hasPrefix("patchbench ") && version.output.contains("fixed-order-fma"))
    }

    /// A mistyped option is named as unknown, with the closest one, instead of a missing --method.
    @Test(.enabled(if: KillResumeTests.executable != nil, "patchbench executable not built (swift build -c release); skipping"))
    func aMistypedOptionIsNamed() throws {
        let folder = HarnessFixtures.temporaryDirectory("typo")
        let typo = try run(["pretrain", "--methd", "mae", "--budget", "smoke"], in: folder)
        #expect(typo.status == 64 && typo.output.contains("unknown option '--methd'")
                && typo.output.contains("did you mean '--method'?"), "\(typo.output)")
        let fine = try run(["claims", "--method", "lomar"], in: folder)
        #expect(fine.status == 0, "known options still parse: \(fine.output)")
    }
}
