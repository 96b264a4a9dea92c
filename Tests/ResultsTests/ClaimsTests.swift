import Foundation
import Harness
import Testing
import Results

@Suite struct ClaimsTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let claimsPath = repositoryRoot + "/results/claims.json"

    @Test func committedClaimsValidate() throws {
        let file = try ClaimsLoader.load(path: Self.claimsPath, implemented: Method.implemented)
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
        // What is implemented is the method table's, not the file's; the file lists every
        // table method under the table's base (the loader checks it).
        #expect(file.implemented == Method.all.map(\.name))
        for method in Method.all {
            #expect(file.methods.first { $0.name == method.name }?.base == method.base, "\(method.name)")
        }
    }

    static let implemented = [ImplementedMethod(name: "dino", base: "dino"), ImplementedMethod(name: "dino-ca", base: "selfpatch")]

    func claimsJSON(probe: String = "seg", metric: String = "mIoU", delta: String = "2.9", id: String = "a_claim",
                    methods: [(name: String, base: String)] = [("dino", "dino"), ("selfpatch", "selfpatch"),
                                                                ("dino-ca", "selfpatch")])
        -> Data
    {
        let methods = methods.map { "{\"name\": \"\($0.name)\", \"base\": \"\($0.base)\", \"description\": \"\"}" }
        return Data("""
            {"schema": "patchbench.claims/1", "methods": [\(methods.joined(separator: ", "))],
             "claims": [{"id": "\(id)", "paper": {"title": "T", "arxiv": "2206.07990", "arxiv_in_spec": false},
               "method": "selfpatch", "baseline": "dino", "dataset": "ADE20K", "metric": "mIoU", "protocol": "p",
               "reported": {"method": 41.2, "baseline": 38.3, "delta": \(delta), "ratio": null},
               "source": "s", "verified": true, "direction": "increase",
               "proxy": {"probe": "\(probe)", "metric": "\(metric)", "dataset": null, "strength": "proxy", "note": ""},
               "note": ""}]}
            """.utf8)
    }

    @Test func acceptsAWellFormedClaim() throws {
        let file = try ClaimsLoader.parse(claimsJSON(), file: "claims.json", implemented: Self.implemented)
        #expect(file.claims.count == 1)
    }

    @Test func unknownProbeNamesTheClaim() {
        #expect(throws: ResultsError.self) { try ClaimsLoader.parse(claimsJSON(probe: "depth"), file: "c.json", implemented: Self.implemented) }
        do {
            _ = try ClaimsLoader.parse(claimsJSON(probe: "depth"), file: "c.json", implemented: Self.implemented)
        } catch {
            #expect("\(error)".contains("a_claim") && "\(error)".contains("depth") && "\(error)".contains("c.json"))
        }
    }

    @Test func unknownMetricNamesTheClaim() {
        do {
            _ = try ClaimsLoader.parse(claimsJSON(metric: "top1"), file: "c.json", implemented: Self.implemented)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("claim 'a_claim'") && "\(error)".contains("unknown metric 'top1'"))
        }
    }

    @Test func inconsistentReportedDeltaIsRejected() {
        do {
            _ = try ClaimsLoader.parse(claimsJSON(delta: "3.9"), file: "c.json", implemented: Self.implemented)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("does not match delta"))
        }
    }

    @Test func nonSnakeCaseIdIsRejected() {
        #expect(throws: ResultsError.self) { try ClaimsLoader.parse(claimsJSON(id: "Bad-Id"), file: "c.json", implemented: Self.implemented) }
    }

    @Test func theMethodTableAndTheFileMustAgree() {
        // A table method the file does not list, a base that differs, a base that is not a base method.
        let cases: [([(name: String, base: String)], String)] = [
            ([("dino", "dino"), ("selfpatch", "selfpatch")], "implemented method 'dino-ca' is not listed"),
            ([("dino", "dino"), ("selfpatch", "selfpatch"), ("dino-ca", "dino")], "the method table says 'selfpatch'"),
            ([("dino", "dino"), ("selfpatch", "dino-ca"), ("dino-ca", "selfpatch")], "not listed as a base method"),
        ]
        for (methods, message) in cases {
            do {
                _ = try ClaimsLoader.parse(claimsJSON(methods: methods), file: "c.json", implemented: Self.implemented)
                Issue.record("expected an error: \(message)")
            } catch {
                #expect("\(error)".contains(message) && "\(error)".contains("c.json"), "\(error)")
            }
        }
    }

    @Test func malformedClaimsJSONNamesTheFile() {
        do {
            _ = try ClaimsLoader.parse(Data("{\"schema\": ".utf8), file: "broken-claims.json", implemented: Self.implemented)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("broken-claims.json"))
        }
    }
}
