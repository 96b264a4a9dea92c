/// provenance.md / provenance.json: where every number in the tables came from, one entry per run.
public enum ProvenanceReport {
    static func short(_ hash: String) -> String { String(hash.prefix(12)) }

    public static func markdown(_ collection: RunCollection) -> String {
        var text = "# Provenance\n\nOne line per run used in the tables (from run.json and eval/*.json). "
        text += "Hashes are shortened to 12 characters here; provenance.json has them in full.\n"
        for budget in collection.budgets {
            text += "\n## Budget \(budget)\n\n"
            text += "| run | git commit | dirty | config hash | dataset | dataset digest | threads | float32 GEMM | float64 BLAS | machine | "
                + "swift | wall s | images seen | encoder FLOPs | peak RSS MiB | probes (dataset, wall s, eval commit) |\n"
            text += "|---|---|---|---|---|---|---:|---|---|---|---|---:|---:|---:|---:|---|\n"
            for run in collection.runs where run.budget == budget {
                let provenance = run.run.provenance
                let probes = run.evaluations.map { evaluation in
                    let commit = evaluation.gitCommit.map {
                        ", \(commitText(checkout: $0, build: evaluation.buildCommit))" + (evaluation.uncommitted ? " dirty" : "")
                    }
                    return "\(evaluation.probe) (\(evaluation.dataset.name) \(short(evaluation.dataset.digest)), "
                        + "\(NumberFormatting.fixed(evaluation.wallSeconds, digits: 1))\(commit ?? ""))"
                }.joined(separator: "; ")
                let cells = [
                    run.relativePath, commitText(checkout: provenance.gitCommit, build: provenance.buildCommit),
                    provenance.uncommitted ? "yes" : "no",
                    short(run.run.configHash), run.run.dataset.name, short(run.run.dataset.digest),
                    String(provenance.threads), gemm(provenance), provenance.blas, provenance.machine, provenance.swift,
                    NumberFormatting.fixed(provenance.wallSeconds, digits: 1), String(provenance.imagesSeen),
                    NumberFormatting.significant(provenance.encoderFlops),
                    NumberFormatting.fixed(provenance.peakRssMib, digits: 1), probes.isEmpty ? "—" : probes,
                ]
                text += "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ")
                    + " |\n"
            }
        }
        let resumed = collection.runs.filter { ($0.run.provenance.segments?.count ?? 0) > 1 }
        if !resumed.isEmpty {
            text += "\n## Resumed runs\n\nPretraining in more than one process, each segment from a start or a resume to its last "
                + "checkpoint. Where they differ in threads, machine or GEMM path, the run's images/s is compared with no other.\n\n"
                + "| run | segments |\n|---|---|\n"
            for run in resumed {
                let segments = (run.run.provenance.segments ?? []).map {
                    $0.description + ", \(NumberFormatting.fixed($0.wallSeconds, digits: 1)) s"
                }
                text += "| \(run.relativePath) | " + segments.joined(separator: "; ").replacingOccurrences(of: "|", with: "\\|") + " |\n"
            }
        }
        if !collection.skipped.isEmpty {
            text += "\n## Skipped run directories\n\n| directory | reason |\n|---|---|\n"
            for skipped in collection.skipped { text += "| \(skipped.relativePath) | \(skipped.reason) |\n" }
        }
        return text
    }

    /// The checkout's commit, and the binary's when it was built from another.
    static func commitText(checkout: String, build: String?) -> String {
        guard let build, build != checkout else { return short(checkout) }
        return "\(short(checkout)) (binary built from \(short(build)))"
    }

    /// "order (path)", or OpenBLAS for runs made before PatchBench had its own float32 GEMM.
    static func gemm(_ provenance: RunFile.Provenance) -> String {
        guard let order = provenance.gemmOrder else { return "OpenBLAS sgemm" }
        return order + (provenance.gemmPath.map { " (\($0))" } ?? "")
    }

    public static func json(_ collection: RunCollection) -> JSONValue {
        let runs: [JSONValue] = collection.runs.map { run in
            let provenance = run.run.provenance
            let evaluations: [JSONValue] = run.evaluations.map { evaluation in
                var fields: [String: JSONValue] = [
                    "probe": .string(evaluation.probe), "dataset": .string(evaluation.dataset.name),
                    "dataset_digest": .string(evaluation.dataset.digest),
                    "wall_seconds": .number(evaluation.wallSeconds), "threads": .integer(evaluation.threads),
                ]
                if let commit = evaluation.gitCommit { fields["git_commit"] = .string(commit) }
                if let dirty = evaluation.gitDirty { fields["git_dirty"] = .bool(dirty) }
                if let commit = evaluation.buildCommit { fields["build_commit"] = .string(commit) }
                if let dirty = evaluation.buildDirty { fields["build_dirty"] = .bool(dirty) }
                return .object(fields)
            }
            var fields: [String: JSONValue] = [
                "path": .string(run.relativePath), "budget": .string(run.budget), "method": .string(run.method),
                "seed": .integer(run.seed), "config_hash": .string(run.run.configHash),
                "dataset": .string(run.run.dataset.name), "dataset_digest": .string(run.run.dataset.digest),
                "git_commit": .string(provenance.gitCommit), "git_dirty": .bool(provenance.gitDirty),
                "threads": .integer(provenance.threads), "blas": .string(provenance.blas),
                "machine": .string(provenance.machine), "swift": .string(provenance.swift),
                "wall_seconds": .number(provenance.wallSeconds), "images_seen": .integer(provenance.imagesSeen),
                "encoder_flops": .number(provenance.encoderFlops), "peak_rss_mib": .number(provenance.peakRssMib),
                "evaluations": .array(evaluations),
            ]
            if let commit = provenance.buildCommit { fields["build_commit"] = .string(commit) }
            if let dirty = provenance.buildDirty { fields["build_dirty"] = .bool(dirty) }
            if let order = provenance.gemmOrder { fields["gemm_order"] = .string(order) }
            if let path = provenance.gemmPath { fields["gemm_path"] = .string(path) }
            if let segments = provenance.segments {
                fields["segments"] = .array(segments.map { segment in
                    var item: [String: JSONValue] = [
                        "from_step": .integer(segment.fromStep), "to_step": .integer(segment.toStep),
                        "wall_seconds": .number(segment.wallSeconds),
                    ]
                    if let threads = segment.threads { item["threads"] = .integer(threads) }
                    if let machine = segment.machine { item["machine"] = .string(machine) }
                    if let path = segment.gemmPath { item["gemm_path"] = .string(path) }
                    return .object(item)
                })
            }
            return .object(fields)
        }
        let skipped: [JSONValue] = collection.skipped.map {
            .object(["path": .string($0.relativePath), "reason": .string($0.reason)])
        }
        return .object(["schema": .string("patchbench.provenance/1"), "runs": .array(runs), "skipped": .array(skipped)])
    }
}
