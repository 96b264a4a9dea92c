import ArgumentParser
import Foundation
import Harness
import Results

/// `patchbench claims`: the claims registry as a table.
struct Claims: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every reported paper claim PatchBench tests, with its proxy probe and metric.",
        discussion: """
            Reads and validates the claims registry (default results/claims.json,
            see Documentation/claims.md) and prints one line per claim: id,
            method vs baseline, the reported delta (or the factor of a speed
            claim), the PatchBench proxy (probe/metric[@dataset] and its
            strength), and flags: R = the spec marks a number unverified,
            I = method and baseline are both implemented. Validation errors
            name the claim id.

            Examples:
              patchbench claims
              patchbench claims --paper 2206.00790
              patchbench claims --method densecl --implemented-only
            """)

    @Option(help: "Path of the claims registry JSON.")
    var claims: String = "results/claims.json"

    @Option(help: "Only claims of this paper (arXiv id, e.g. 2206.00790).")
    var paper: String?

    @Option(help: "Only claims whose method or baseline is this method name.")
    var method: String?

    @Flag(help: "Only claims whose method and baseline are both implemented.")
    var implementedOnly = false

    func run() throws {
        let file = try ClaimsLoader.load(path: Checkout.resolve(claims), implemented: Method.implemented)
        var selected = file.claims
        if let paper { selected = selected.filter { $0.paper.arxiv == paper } }
        if let method { selected = selected.filter { $0.method == method || $0.baseline == method } }
        if implementedOnly {
            selected = selected.filter { file.implemented.contains($0.method) && file.implemented.contains($0.baseline) }
        }
        print(ClaimsListing.render(selected, implemented: file.implemented))
        print("\(selected.count) of \(file.claims.count) claims; implemented methods: "
            + file.implemented.sorted().joined(separator: ", "))
    }
}

/// Plain-text table for the terminal: fixed-width columns computed from the content.
enum ClaimsListing {
    static func render(_ claims: [Claim], implemented: [String]) -> String {
        let header = ["id", "method vs baseline", "reported", "proxy", "flags"]
        let rows = claims.map { claim -> [String] in
            let reported: String
            if claim.direction.isSpeed {
                let factor = claim.reported.ratio.map { "×" + NumberFormatting.fixed($0, digits: 2) } ?? "?"
                reported = "\(factor) \(claim.direction.rawValue)"
            } else {
                let unknown = "? (\(claim.direction.rawValue))"
                reported = claim.reported.delta.map { NumberFormatting.signed($0, digits: 2) } ?? unknown
            }
            let proxy = "\(claim.proxy.probe)/\(claim.proxy.metric)" + (claim.proxy.dataset.map { "@\($0)" } ?? "")
                + " (\(claim.proxy.strength.rawValue))"
            let both = implemented.contains(claim.method) && implemented.contains(claim.baseline)
            let flags = (claim.verified ? "" : "R") + (both ? "I" : "")
            return [claim.id, "\(claim.method) vs \(claim.baseline)", reported, proxy, flags]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
