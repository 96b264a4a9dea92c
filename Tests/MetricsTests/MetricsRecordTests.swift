import Foundation
import Testing
import Evaluation

/// eval/<probe>.json: schema of Documentation/run-layout.md, sorted keys, atomic write.
struct MetricsRecordTests {
    func record() -> MetricsRecord {
        MetricsRecord(probe: "linear", dataset: .init(name: "fashion-mnist", digest: "abc"),
                      encoder: .init(method: "mae", budget: "tiny", seed: 0, configHash: "f00"),
                      settings: LinearProbe.Configuration().protocolSettings,
                      metrics: ["top1": 81.23, "C": 0.1], wallSeconds: 12.5, threads: 2)
    }

    @Test("Writes <probe>.json with sorted keys and the run-layout fields; reads it back")
    func roundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try record().write(toDirectory: directory)
        #expect(path.hasSuffix("/linear.json"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in ["\"schema\" : \"patchbench.metrics/1\"", "\"config_hash\"", "\"protocol\"", "\"wall_seconds\"",
                    "\"threads\"", "\"top1\""] {
            #expect(text.contains(key), "missing \(key)")
        }
        // Top-level keys appear in sorted order.
        let order = ["\"dataset\"", "\"encoder\"", "\"metrics\"", "\"probe\"", "\"protocol\"", "\"schema\"", "\"threads\"",
                     "\"wall_seconds\""].map { text.range(of: $0)!.lowerBound }
        #expect(order == order.sorted())
        #expect(try MetricsRecord.read(path: path) == record())
        // Same record, same bytes; no temporary file left behind.
        #expect(try record().encoded() == (try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["linear.json"])
    }

    @Test("Reading a file with the wrong schema or malformed JSON throws naming the file")
    func badFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-metrics-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "{\"schema\": ".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try MetricsRecord.read(path: path)
            Issue.record("expected an error")
        } catch let error as EvaluationError {
            #expect(error.description.contains(path))
        }
    }
}
