import Foundation

/// Reads results/claims.json and rejects anything a verdict could not be computed from mechanically.
public enum ClaimsLoader {
    /// Reported method − baseline may differ from the reported delta by rounding of the printed numbers only.
    static let deltaRoundingSlack = 0.0051

    /// `implemented`: the method table's methods (Harness `Method.implemented`).
    public static func load(path: String, implemented: [ImplementedMethod]) throws -> ClaimsFile {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ResultsError("\(path): cannot read claims file: \(error.localizedDescription)")
        }
        return try parse(data, file: path, implemented: implemented)
    }

    public static func parse(_ data: Data, file: String, implemented: [ImplementedMethod]) throws -> ClaimsFile {
        var claims: ClaimsFile
        do {
            claims = try JSONDecoder().decode(ClaimsFile.self, from: data)
        } catch {
            throw ResultsError.decoding(error, file: file)
        }
        claims.implemented = implemented.map(\.name)
        for method in implemented { if let note = method.note { claims.notes[method.name] = note } }
        try validate(claims, file: file)
        for method in implemented {
            guard let entry = claims.methods.first(where: { $0.name == method.name }) else {
                throw ResultsError("\(file): implemented method '\(method.name)' is not listed in 'methods'")
            }
            guard entry.base == method.base else {
                throw ResultsError("\(file): method '\(method.name)' has base '\(entry.base)', the method table says '\(method.base)'")
            }
        }
        return claims
    }

    /// Checks schema, names, probes/metrics and the arithmetic of reported numbers.
    public static func validate(_ file: ClaimsFile, file path: String) throws {
        guard file.schema == ClaimsFile.schemaName else {
            throw ResultsError("\(path): schema is '\(file.schema)', expected '\(ClaimsFile.schemaName)'")
        }
        var methodNames: [String] = []
        for entry in file.methods {
            guard !methodNames.contains(entry.name) else {
                throw ResultsError("\(path): method '\(entry.name)' is listed twice")
            }
            methodNames.append(entry.name)
        }
        // A base is a paper's method: listed under its own name, as its own base.
        for entry in file.methods where !file.methods.contains(where: { $0.name == entry.base && $0.base == entry.base }) {
            throw ResultsError("\(path): method '\(entry.name)' has base '\(entry.base)', which is not listed as a base method")
        }
        var ids: [String] = []
        for claim in file.claims {
            try validate(claim, methods: methodNames, file: path)
            guard !ids.contains(claim.id) else {
                throw ResultsError("\(path): claim id '\(claim.id)' is used twice")
            }
            ids.append(claim.id)
        }
    }

    static func validate(_ claim: Claim, methods: [String], file path: String) throws {
        let id = claim.id
        func fail(_ what: String) -> ResultsError { ResultsError("\(path): claim '\(id)': \(what)") }
        guard isSnakeCase(id) else { throw fail("id is not snake_case ([a-z0-9_], starting with a letter)") }
        guard methods.contains(claim.method) else { throw fail("unknown method '\(claim.method)'") }
        guard methods.contains(claim.baseline) else { throw fail("unknown baseline '\(claim.baseline)'") }
        guard claim.method != claim.baseline else { throw fail("method and baseline are both '\(claim.method)'") }
        guard let probeMetrics = ProbeMetricRegistry.metrics(of: claim.proxy.probe) else {
            let known = ProbeMetricRegistry.metricsByProbe.map(\.probe).joined(separator: ", ")
            throw fail("unknown proxy probe '\(claim.proxy.probe)' (known: \(known))")
        }
        guard probeMetrics.contains(claim.proxy.metric) else {
            throw fail("unknown metric '\(claim.proxy.metric)' for probe '\(claim.proxy.probe)' "
                + "(known: \(probeMetrics.joined(separator: ", ")))")
        }
        guard claim.paper.arxiv.range(of: #"^[0-9]{4}\.[0-9]{4,5}$"#, options: .regularExpression) != nil else {
            throw fail("arXiv id '\(claim.paper.arxiv)' is not of the form NNNN.NNNNN")
        }
        let reported = claim.reported
        for value in [reported.method, reported.baseline, reported.delta, reported.ratio].compactMap({ $0 }) {
            guard value.isFinite else { throw fail("a reported value is not finite") }
        }
        if claim.direction.isSpeed {
            guard claim.proxy.probe == ProbeMetricRegistry.pretrainProbe,
                claim.proxy.metric == ProbeMetricRegistry.imagesPerSecond
            else {
                throw fail("speed claims must use proxy pretrain/\(ProbeMetricRegistry.imagesPerSecond)")
            }
            if let grid = claim.proxy.grid, grid < 1 { throw fail("proxy.grid must be a positive number of patches per side") }
            guard let ratio = reported.ratio, ratio > 0 else {
                throw fail("a speed claim needs a positive reported.ratio")
            }
            if claim.direction == .speedup && ratio <= 1 {
                throw fail("a speedup claim needs reported.ratio > 1, got \(ratio)")
            }
        } else {
            guard reported.ratio == nil else { throw fail("reported.ratio is only for speed claims") }
            guard claim.proxy.grid == nil else { throw fail("proxy.grid is only for speed claims") }
            if let method = reported.method, let baseline = reported.baseline, let delta = reported.delta {
                guard abs((method - baseline) - delta) <= deltaRoundingSlack else {
                    throw fail("reported method − baseline = \(method - baseline) does not match delta \(delta)")
                }
            }
            if let delta = reported.delta {
                if claim.direction == .increase && delta < 0 { throw fail("direction increase with delta \(delta)") }
                if claim.direction == .decrease && delta > 0 { throw fail("direction decrease with delta \(delta)") }
            }
        }
    }

    static func isSnakeCase(_ text: String) -> Bool {
        text.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) != nil
    }
}
