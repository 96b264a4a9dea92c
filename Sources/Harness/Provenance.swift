import BuildStamp
import Foundation
import Results
import TensorCore

/// Where and how a run was made (run.json "provenance"; Documentation/run-layout.md). The
/// record is Results' `RunFile.Provenance`, so the writer here and the reader behind
/// `patchbench tables` share one definition of the keys.
public typealias Provenance = RunFile.Provenance

extension RunFile.Provenance {
    /// The checkout's commit and dirty flag, read once, when the process first asks (a run's or
    /// an evaluation's start): run.json is rewritten at the end, and the checkout may have
    /// moved on while the binary kept running.
    public static let sourceAtStart: (commit: String, dirty: Bool) = (
        git(["rev-parse", "HEAD"]) ?? "unknown",
        git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
    )

    /// The commit the binary was built from and whether tracked files differed from it then
    /// (`BuildStamp`, written at build time).
    public static let build: (commit: String, dirty: Bool) = (BuildStamp.commit, BuildStamp.dirty)

    /// `patchbench --version`: the source the binary was built from (and whether it was dirty)
    /// and the float32 GEMM order, the two things that decide the bits a binary produces.
    public static var versionText: String {
        "patchbench \(build.commit.prefix(12))\(build.dirty ? "-dirty" : "") (float32 GEMM \(FloatGEMM.order))"
    }

    /// The process's environment now (the source state as at its start); the counters start
    /// at the given values.
    public static func current(threads: Int, wallSeconds: Double, imagesSeen: Int, encoderFlops: Double) -> Provenance {
        let (commit, dirty) = sourceAtStart
        return Provenance(gitCommit: commit, gitDirty: dirty, buildCommit: build.commit, buildDirty: build.dirty, threads: threads, blas: "\(BLAS.config) (core \(BLAS.coreName))",
                          gemmOrder: FloatGEMM.order, gemmPath: FloatGEMM.path.rawValue,
                          machine: machine, swift: swiftVersion, wallSeconds: wallSeconds, imagesSeen: imagesSeen,
                          encoderFlops: encoderFlops, peakRssMib: ProcessMemory.peakResidentMiB())
    }

    /// git in the binary's checkout (the source it was built from), wherever it is run.
    static func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = (Checkout.root.map { ["-C", $0] } ?? []) + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// "x86_64 AMD EPYC (family 25, model 17), 2 cores": the family and model tell apart CPUs
    /// that share a model name (a Zen 4 and a Zen 5 EPYC both say "AMD EPYC" on these machines).
    /// Read once per process: run.json and each pretraining segment name the same machine.
    static let machine: String = {
        var name = utsname()
        uname(&name)
        let arch = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let lines = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n") ?? []
        func field(_ key: String) -> String? {
            lines.first { $0.split(separator: ":", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) == key }?
                .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        var cpu = field("model name") ?? "unknown CPU"
        if let family = field("cpu family"), let model = field("model") { cpu += " (family \(family), model \(model))" }
        return "\(arch) \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }()

    static var swiftVersion: String {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "older than 6.1"
        #endif
    }
}
