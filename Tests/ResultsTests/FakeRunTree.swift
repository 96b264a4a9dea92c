import Foundation
import Results

/// Builds tiny run trees (runs/<budget>/<method>/seed<k>/) in a fresh temporary directory, in the format of
/// Documentation/run-layout.md.
struct FakeRunTree {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("results-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    var runs: String { root + "/runs" }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    func write(_ text: String, to relative: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// One completed run with a linear and a seg eval file and a three-line log.
    func addRun(
        budget: String = "tiny", method: String, seed: Int, top1: Double, mIoU: Double? = nil, fineTuneTop1: Double? = nil,
        wallSeconds: Double = 100, imagesSeen: Int = 5000, threads: Int = 2, blas: String = "OpenBLAS 0.3.21 Haswell",
        gemmOrder: String = "fixed-order-fma/1", segments: String? = nil, completed: Bool = true
    ) throws {
        let directory = "runs/\(budget)/\(method)/seed\(seed)"
        let hash = "c0ffee\(method.count)\(seed)"
        try write(
            """
            {"schema": "patchbench.run/1", "method": "\(method)", "budget": "\(budget)", "seed": \(seed),
             "config": {"lr": 0.001, "batch": 64}, "config_hash": "\(hash)",
             "dataset": {"path": "datasets/fashion-mnist.h5", "name": "fashion-mnist", "digest": "ab12cd34ef56ab12cd34"},
             "provenance": {"git_commit": "0123456789abcdef0123", "git_dirty": false, "threads": \(threads),
               "blas": "\(blas)", "gemm_order": "\(gemmOrder)", "gemm_path": "avx2-fma", "machine": "x86_64 test, 2 cores", "swift": "6.3.1",
               "wall_seconds": \(wallSeconds), "images_seen": \(imagesSeen), "encoder_flops": 1.2e13,
               "peak_rss_mib": 812.5\(segments.map { ", \"segments\": \($0)" } ?? "")},
             "completed": \(completed)}
            """, to: directory + "/run.json")
        try write(metrics(probe: "linear", method: method, budget: budget, seed: seed, hash: hash,
            metrics: "{\"top1\": \(top1), \"C\": 0.1}"), to: directory + "/eval/linear.json")
        if let mIoU {
            try write(metrics(probe: "seg", method: method, budget: budget, seed: seed, hash: hash,
                metrics: "{\"mIoU\": \(mIoU), \"aAcc\": 70.5}"), to: directory + "/eval/seg.json")
        }
        if let fineTuneTop1 {
            try write(metrics(probe: "finetune", method: method, budget: budget, seed: seed, hash: hash,
                metrics: "{\"top1\": \(fineTuneTop1), \"train_top1\": 99.5}"), to: directory + "/eval/finetune.json")
        }
        let base = Double(seed) * 0.01
        try write(
            """
            {"step": 10, "images_seen": 640, "loss": \(1.0 + base), "terms": {"mse": 1.0}, "lr": 1e-4, "images_per_sec": 200.0, "flops": 1e11}
            {"step": 20, "images_seen": 1280, "loss": \(0.8 + base), "terms": {"mse": 0.8}, "lr": 1e-4, "images_per_sec": 201.0, "flops": 1e11}
            {"step": 30, "images_seen": 1920, "loss": \(0.7 + base), "terms": {"mse": 0.7}, "lr": 1e-4, "images_per_sec": 202.0, "flops": 1e11}

            """, to: directory + "/log.jsonl")
    }

    func metrics(probe: String, method: String, budget: String, seed: Int, hash: String, metrics: String) -> String {
        """
        {"schema": "patchbench.metrics/1", "probe": "\(probe)",
         "dataset": {"name": "fashion-mnist", "digest": "ab12cd34ef56ab12cd34"},
         "encoder": {"method": "\(method)", "budget": "\(budget)", "seed": \(seed), "config_hash": "\(hash)"},
         "protocol": {"feature": "cls", "grid": [0.01, 0.1, 1.0]},
         "metrics": \(metrics), "wall_seconds": 12.5, "threads": 2}
        """
    }

    /// mae, lomar and random-init over seeds 0–2; lomar beats mae by about 1 point on linear top1 and by
    /// 0.5–0.7 on fine-tuning top1.
    func addStandardRuns() throws {
        for seed in 0..<3 {
            let jitter = [0.0, 0.3, -0.2][seed]
            try addRun(method: "mae", seed: seed, top1: 80 + jitter, mIoU: 30 + jitter, fineTuneTop1: 85 + jitter,
                wallSeconds: 100)
            try addRun(method: "lomar", seed: seed, top1: 81 + jitter + 0.05 * Double(seed), mIoU: 29 + jitter - 0.05 * Double(seed),
                fineTuneTop1: 85.5 + jitter + 0.1 * Double(seed), wallSeconds: 200 + Double(seed))
            try addRun(method: "random-init", seed: seed, top1: 40 + jitter, imagesSeen: 0)
        }
    }

    /// Every file under `directory`, relative path → bytes.
    static func contents(of directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = directory + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
            }
        }
        return files
    }
}
