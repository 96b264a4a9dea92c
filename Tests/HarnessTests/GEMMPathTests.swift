import Foundation
import Harness
@_spi(GEMMPaths) import TensorCore
import Testing

/// The smoke budget's MAE and LoMaR steps on every GEMM path this CPU has: identical encoder
/// bits and losses (the property that lets goldens compare bitwise on any x86-64 machine).
@Suite(.serialized) struct GEMMPathTests {
    @Test func smokeStepsGiveIdenticalBitsOnEveryPath() throws {
        let missing = FloatGEMM.Path.allCases.filter { !$0.isSupported }.map(\.rawValue)
        if !missing.isEmpty { print("GEMMPathTests: this CPU lacks \(missing.joined(separator: ", ")); those paths are skipped") }
        let dir = HarnessFixtures.temporaryDirectory("gemm-paths")
        var budget = try Budget.load(path: Budget.path(named: "smoke", root: HarnessFixtures.root))
        budget.name = "smoke-steps"
        budget.imagesSeen = 2 * budget.batchSize
        defer { FloatGEMM.forcedPath = nil }
        for method in [Method.mae, .lomar] {
            var first: (path: FloatGEMM.Path, bits: [String: [UInt32]], log: String)?
            for path in FloatGEMM.Path.allCases where path.isSupported {
                FloatGEMM.forcedPath = path
                let run = dir + "/\(method.name)-\(path.rawValue)"
                let options = Pretraining.Options(method: method, budget: budget, seed: 0, dataPath: HarnessFixtures.pack,
                                                  runPath: run, threads: 2, progress: .quiet)
                #expect(try Pretraining(options).run() == .completed(resumedFrom: nil))
                let bits = try HarnessFixtures.encoderBits(run + "/encoder.h5")
                let log = try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8).split(separator: "\n")
                    .map { line in "\((try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["loss"]!)" }
                    .joined(separator: " ")
                if let first {
                    #expect(bits == first.bits, "\(method.name): \(path.rawValue) encoder differs from \(first.path.rawValue)")
                    #expect(log == first.log, "\(method.name): \(path.rawValue) losses \(log) vs \(first.path.rawValue) \(first.log)")
                } else {
                    first = (path, bits, log)
                }
            }
        }
    }
}
