import Foundation
import Testing
import Results

@Suite struct ClaimsTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let claimsPath = repositoryRoot + "/results/claims.json"

    @Test func committedClaimsValidate() throws {
        let file = try ClaimsLoader.load(path: Self.claimsPath)
        #expect(file.claims.count == 108)
        // All five papers are present.
        let papers = Set(file.claims.map(\.paper.arxiv))
        #expect(papers == ["2206.07990", "2011.09157", "2305.12384", "2203.12054", "2206.00790"])
        // Headline numbers copied from the specs.
        let byId = Dictionary(uniqueKeysWithValues: file.claims.map { ($0.id, $0) })
        let ade = try #require(byId["selfpatch_vs_dino_ade20k_semfpn_miou"])
        #expect(ade.reported == ReportedValues(method: 41.2, baseline: 38.3, delta: 2.9, ratio: nil))
        #expect(ade.proxy.probe == "seg" && ade.proxy.metric == "mIoU")
        let speed = try #require(byId["lomar_vs_mae_pretrain448_speed"])
        #expect(speed.direction == .speedup && speed.reported.ratio == 3.1)
        let order = try #require(byId["randsac_order_random_vs_raster_cifar10_linear_top1"])
        #expect(order.method == "randsac-patch-random" && order.baseline == "randsac-patch-raster")
        #expect(order.reported.method == 75.53 && order.reported.baseline == 55.53)
        #expect(try #require(byId["densecl_vs_mocov2_pretrain_speed"]).direction == .noSlowdown)
        // The registry's implemented methods are the Makefile's default METHODS (what
        // `make reproduce-all` runs): the two lists must not drift apart.
        let root = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let makefile = try String(contentsOf: root.appendingPathComponent("Makefile"), encoding: .utf8)
        let line = try #require(makefile.split(separator: "\n").first { $0.hasPrefix("METHODS ?=") })
        let methods = line.dropFirst("METHODS ?=".count).split(separator: " ").map(String.init)
        #expect(Set(file.implemented) == Set(methods), "claims.json implemented vs Makefile METHODS")
        #expect(Set(["lomar", "mae", "random-init", "dino", "dino-ca", "selfpatch"]).isSubset(of: Set(file.implemented)))
    }

    func claimsJSON(probe: String = "seg", metric: String = "mIoU", delta: String = "2.9", id: String = "a_claim")
        -> Data
    {
        let methods = MethodRegistry.baseMethods.map { "{\"name\": \"\($0)\", \"base\": \"\($0)\", \"description\": \"\"}" }
        return Data("""
            {"schema": "patchbench.claims/1", "methods": [\(methods.joined(separator: ", "))],
             "implemented": ["mae"],
             "claims": [{"id": "\(id)", "paper": {"title": "T", "arxiv": "2206.07990", "arxiv_in_spec": false},
               "method": "selfpatch", "baseline": "dino", "dataset": "ADE20K", "metric": "mIoU", "protocol": "p",
               "reported": {"method": 41.2, "baseline": 38.3, "delta": \(delta), "ratio": null},
               "source": "s", "verified": true, "direction": "increase",
               "proxy": {"probe": "\(probe)", "metric": "\(metric)", "dataset": null, "strength": "proxy", "note": ""},
               "note": ""}]}
            """.utf8)
    }

    @Test func acceptsAWellFormedClaim() throws {
        let file = try ClaimsLoader.parse(claimsJSON(), file: "claims.json")
        #expect(file.claims.count == 1)
    }

    @Test func unknownProbeNamesTheClaim() {
        #expect(throws: ResultsError.self) { try ClaimsLoader.parse(claimsJSON(probe: "depth"), file: "c.json") }
        do {
            _ = try ClaimsLoader.parse(claimsJSON(probe: "depth"), file: "c.json")
        } catch {
            #expect("\(error)".contains("a_claim") && "\(error)".contains("depth") && "\(error)".contains("c.json"))
        }
    }

    @Test func unknownMetricNamesTheClaim() {
        do {
            _ = try ClaimsLoader.parse(claimsJSON(metric: "top1"), file: "c.json")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("claim 'a_claim'") && "\(error)".contains("unknown metric 'top1'"))
        }
    }

    @Test func inconsistentReportedDeltaIsRejected() {
        do {
            _ = try ClaimsLoader.parse(claimsJSON(delta: "3.9"), file: "c.json")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("does not match delta"))
        }
    }

    @Test func nonSnakeCaseIdIsRejected() {
        #expect(throws: ResultsError.self) { try ClaimsLoader.parse(claimsJSON(id: "Bad-Id"), file: "c.json") }
    }

    @Test func malformedClaimsJSONNamesTheFile() {
        do {
            _ = try ClaimsLoader.parse(Data("{\"schema\": ".utf8), file: "broken-claims.json")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("broken-claims.json"))
        }
    }
}
