import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Harness
import Testing
import Results

@Suite struct TablesTests {
    /// The method table's floors, as `patchbench tables` passes them (`Method.floors(budget:)`).
    let floors = ["mae": "random-init", "lomar": "random-init-lomar"]

    func claims() throws -> ClaimsFile { try ClaimsLoader.load(path: ClaimsTests.claimsPath, implemented: Method.implemented) }

    @Test func tablesAreByteIdenticalWhenRunTwice() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        let out = tree.root + "/results"
        let claims = try claims()
        func generate(_ choice: ResultsVersioning.Choice) throws -> Int {
            let collection = try RunCollector.collect(root: tree.runs)
            let version = try ResultsVersioning.resolve(choice, outDirectory: out)
            let files = ResultsBundle.build(collection: collection, claims: claims, version: version, floors: floors)
            try ResultsVersioning.install(files: files, version: version, outDirectory: out)
            return version
        }
        #expect(try generate(.new) == 1)
        let first = try FakeRunTree.contents(of: out + "/v1")
        #expect(try generate(.latest) == 1)
        let second = try FakeRunTree.contents(of: out + "/v1")
        #expect(first == second)
        #expect(first.keys.sorted().contains("tables/tiny/fashion-mnist/linear.md"))
        #expect(first["plots/loss-tiny-mae.svg"] != nil)
        #expect(first["plots/claims-tiny-finetune-top1.svg"] != nil && first["plots/claims-tiny-seg-mIoU.svg"] != nil)
        // Every plot is well-formed XML; counts read as counts; verdict colours are explained.
        for (path, data) in first where path.hasSuffix(".svg") {
            #expect(XMLParser(data: data).parse(), "\(path) is not well-formed XML")
        }
        let loss = String(decoding: first["plots/loss-tiny-mae.svg"]!, as: UTF8.self)
        #expect(!loss.contains("e+") && loss.contains("moving average"))
        #expect(String(decoding: first["plots/claims-tiny-seg-mIoU.svg"]!, as: UTF8.self).contains(">contradicted<"))
        // A new version leaves v1 untouched.
        #expect(try generate(.new) == 2)
        #expect(try FakeRunTree.contents(of: out + "/v1") == first)
        #expect(ResultsVersioning.existingVersions(in: out) == [1, 2])
        #expect(throws: ResultsError.self) { try ResultsVersioning.resolve(.specific(1), outDirectory: out) }
    }

    @Test func latestWithoutAnyVersionIsAnError() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        #expect(throws: ResultsError.self) { try ResultsVersioning.resolve(.latest, outDirectory: tree.root) }
        #expect(try ResultsVersioning.resolve(.new, outDirectory: tree.root) == 1)
    }

    @Test func tableShowsMeanAndSampleStd() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        let collection = try RunCollector.collect(root: tree.runs)
        let rows = ResultsSummary.rows(collection).filter { $0.probe == "linear" }
        #expect(rows.map(\.method) == ["lomar", "mae", "random-init"])
        let mae = try #require(rows.first { $0.method == "mae" })
        let top1 = try #require(mae.metrics.first { $0.metric == "top1" })
        // 80.0, 80.3, 79.8: mean 80.0333…, sample std 0.2517.
        #expect(abs(top1.mean - (80.0 + 80.3 + 79.8) / 3) < 1e-12)
        #expect(abs(try #require(top1.standardDeviation) - 0.25166114784235827) < 1e-9)
        let markdown = MarkdownTables.render(
            key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "linear"), rows: rows, floors: floors)
        #expect(markdown.contains("| mae | 80.03 ± 0.25 | 0.1 ± 0 | 3 (0, 1, 2) |"))
    }

    /// An eval file's own commit (the evaluating checkout, which may differ from the
    /// pretraining's) reaches provenance.md and provenance.json; older files without one still read.
    @Test func provenanceCarriesTheEvaluatingCommit() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addRun(method: "mae", seed: 0, top1: 80, mIoU: 30)
        let linear = tree.metrics(probe: "linear", method: "mae", budget: "tiny", seed: 0, hash: "c0ffee30",
                                  metrics: "{\"top1\": 80.5, \"C\": 1}")
        try tree.write(String(linear.dropLast()) + ", \"git_commit\": \"feedfacefeedface0000\", \"git_dirty\": true}",
                       to: "runs/tiny/mae/seed0/eval/linear.json")
        let collection = try RunCollector.collect(root: tree.runs)
        let markdown = ProvenanceReport.markdown(collection)
        #expect(markdown.contains("linear (fashion-mnist ab12cd34ef56, 12.5, feedfacefeed dirty)"), "\(markdown)")
        #expect(markdown.contains("seg (fashion-mnist ab12cd34ef56, 12.5)"))
        guard case let .object(root) = ProvenanceReport.json(collection), case let .array(runs)? = root["runs"],
              case let .object(run)? = runs.first, case let .array(evaluations)? = run["evaluations"] else {
            Issue.record("provenance.json has no runs[0].evaluations")
            return
        }
        let linearEntry = evaluations.compactMap { value -> [String: JSONValue]? in
            if case let .object(fields) = value, fields["probe"] == .string("linear") { return fields }
            return nil
        }.first
        #expect(linearEntry?["git_commit"] == .string("feedfacefeedface0000"))
        #expect(linearEntry?["git_dirty"] == .bool(true))
    }

    @Test func claimVerdictsFromRuns() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        let collection = try RunCollector.collect(root: tree.runs)
        let results = ClaimsEvaluator.evaluate(try claims(), runs: collection, budget: "tiny")
        func verdict(_ id: String) -> Verdict? { results.first { $0.claim.id == id }?.evaluation.verdict }
        // lomar − mae on fine-tuning top1 = 0.5, 0.6, 0.7 → reproduced (a fine-tuning claim on its own proxy).
        #expect(verdict("lomar_vs_mae_imagenet_finetune_224_top1") == .reproduced)
        // lomar − mae on seg mIoU = −1, −1.05, −1.1 → contradicted.
        #expect(verdict("lomar_vs_mae_ade20k_miou") == .contradicted)
        #expect(results.allSatisfy { $0.uncommittedInputs.isEmpty })
        // No det eval files → not run.
        #expect(verdict("lomar_vs_mae_coco_box_ap") == .notRun)
        // results.json says when a verdict is a weak proxy's (box AP standing in for mask AP).
        guard case .array(let entries) = ClaimsReport.json([(budget: "tiny", results: results)]) else {
            Issue.record("results.json claims are not an array")
            return
        }
        let strengths = entries.compactMap { entry -> (String, JSONValue)? in
            guard case .object(let fields) = entry, case .string(let id)? = fields["id"], let strength = fields["proxy_strength"] else {
                return nil
            }
            return (id, strength)
        }
        #expect(strengths.count == results.count)
        #expect(strengths.first { $0.0 == "lomar_vs_mae_coco_mask_ap" }?.1 == .string("weak"), "\(strengths.prefix(3))")
        // lomar takes twice the wall time for the same images → a speed claim without a grid
        // (judged on the runs' throughput) is contradicted; one with a grid needs a speed file.
        #expect(verdict("lomar_vs_mae_inaturalist_speed") == .contradicted)
        #expect(verdict("lomar_vs_mae_pretrain448_speed") == .notRun)
        #expect(results.first { $0.claim.id == "lomar_vs_mae_pretrain448_speed" }?.evaluation.reason
                == "no patchbench speed rounds at grid 28 with MAE's budget decoder (runs/speed/tiny.json)")
        #expect(verdict("selfpatch_vs_dino_ade20k_semfpn_miou") == .notRun)
        let markdown = ClaimsReport.markdown([(budget: "tiny", results: results)])
        // One row per measurement: the five fine-tuning claims of LoMaR share one, on the finetune proxy.
        let row = try #require(markdown.split(separator: "\n").first { $0.contains("lomar_vs_mae_imagenet_finetune_224_top1") },
                               "\(markdown)")
        #expect(row.contains("| lomar vs mae | finetune/top1 on fashion-mnist |") && row.contains("| +0.60 |"), "\(row)")
        #expect(row.contains("lomar_vs_mae_imagenet_finetune_384_top1") && !row.contains("weak"), "\(row)")
        // Tested measurements come before the claims not run; each paper has a summary line.
        let tested = try #require(markdown.range(of: "### Tested")), notRun = try #require(markdown.range(of: "### Not run"))
        #expect(tested.lowerBound < notRun.lowerBound)
        // Five fine-tuning claims, one seg and one throughput claim: 7 tested claims, 3 measurements.
        #expect(markdown.contains("| Efficient Self-supervised Vision Pretraining with Local Masked Reconstruction (2206.00790) "
                                  + "| 11 | 7 (3) | 5 | 2 | 0 | 0 / 0 / 0 |"), "\(markdown)")
        let notRunCount = results.filter { $0.evaluation.verdict == .notRun }.count
        #expect(markdown.contains("reproduced 5, contradicted 2, inconclusive 0; not run \(notRunCount) · 7 tested claim(s) in "
                                  + "3 measurement(s), of which ~0.2 would be reproduced or contradicted by chance alone"))
    }

    /// COCO's −1 (undefined) never enters a mean, and a method below the untrained floor is marked.
    @Test func undefinedValuesStayOutOfMeansAndBelowFloorIsMarked() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        for seed in 0..<2 {
            try tree.addRun(method: "mae", seed: seed, top1: 30 + Double(seed))     // below the floor's 40
            try tree.addRun(method: "random-init", seed: seed, top1: 40, imagesSeen: 0)
            let hash = "c0ffee\("mae".count)\(seed)"
            let apl = seed == 0 ? "-1" : "5.0"
            try tree.write(tree.metrics(probe: "det", method: "mae", budget: "tiny", seed: seed, hash: hash,
                                        metrics: "{\"AP\": 2.0, \"APl\": \(apl), \"APm\": -1}"),
                           to: "runs/tiny/mae/seed\(seed)/eval/det.json")
        }
        let collection = try RunCollector.collect(root: tree.runs)
        let rows = ResultsSummary.rows(collection)
        let det = try #require(rows.first { $0.probe == "det" && $0.method == "mae" })
        let apl = try #require(det.metrics.first { $0.metric == "APl" })
        #expect(apl.values.map(\.value) == [5.0] && apl.mean == 5.0, "−1 left out")
        #expect(!det.metrics.contains { $0.metric == "APm" }, "undefined in every seed")
        #expect(collection.values(budget: "tiny", method: "mae", probe: "det", metric: "APl", dataset: nil) == [1: 5.0])
        let table = MarkdownTables.render(key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "det"),
                                          rows: rows.filter { $0.probe == "det" }, floors: floors)
        #expect(table.contains("5.00 ± – (n=1)") && table.contains("left out of means"))
        let linear = MarkdownTables.render(key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "linear"),
                                           rows: rows.filter { $0.probe == "linear" }, floors: floors)
        #expect(linear.contains("| mae | 30.50 ± 0.71 ▼ |"), "\(linear)")
        #expect(!linear.contains("| random-init | 40.00 ± 0.00 ▼"))
    }

    /// A row is marked against its own floor (LoMaR's against `random-init-lomar`, not
    /// `random-init`), a floor never, and the legend names which floor is whose.
    @Test func eachRowIsMarkedAgainstItsOwnFloor() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        for (method, top1) in [("mae", 50.0), ("lomar", 50.0), ("random-init", 60.0), ("random-init-lomar", 40.0)] {
            try tree.addRun(method: method, seed: 0, top1: top1)
        }
        let rows = ResultsSummary.rows(try RunCollector.collect(root: tree.runs)).filter { $0.probe == "linear" }
        let table = MarkdownTables.render(key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "linear"), rows: rows,
                                          floors: floors)
        #expect(table.contains("| mae | 50.00 ± – ▼ |"), "\(table)")
        #expect(table.contains("| lomar | 50.00 ± – |"), "\(table)")
        #expect(table.contains("| random-init-lomar | 40.00 ± – |"), "\(table)")
        #expect(table.contains("`random-init-lomar` for lomar; `random-init` for mae"), "\(table)")
        let unmapped = MarkdownTables.render(key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "linear"), rows: rows,
                                             floors: [:])
        #expect(!unmapped.contains("▼ |") && !unmapped.contains("never trained"))
    }

    /// Evaluations limited to part of a split say so in their table and in results.json.
    @Test func limitedEvaluationsAreShown() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addRun(method: "mae", seed: 0, top1: 70)
        let limited = tree.metrics(probe: "linear", method: "mae", budget: "tiny", seed: 0, hash: "c0ffee30", metrics: "{\"top1\": 70}")
            .replacingOccurrences(of: "\"protocol\": {", with: "\"protocol\": {\"subset\": \"first 6000 train / 2000 test images\", ")
        try tree.write(limited, to: "runs/tiny/mae/seed0/eval/linear.json")
        let rows = ResultsSummary.rows(try RunCollector.collect(root: tree.runs))
        let linear = rows.filter { $0.probe == "linear" }
        #expect(linear.first?.subsets == ["first 6000 train / 2000 test images"])
        let table = MarkdownTables.render(key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "linear"), rows: linear, floors: floors)
        #expect(table.contains("**Evaluated on a subset** (--train-limit / --test-limit): first 6000 train / 2000 test images"))
        #expect(!MarkdownTables.render(key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "pretrain"),
                                       rows: rows.filter { $0.probe == "pretrain" }, floors: floors).contains("subset"))
    }

    /// A linear probe whose C is an end of its grid, or whose refit ran to the iteration cap, is
    /// named above the table and in results.json; a C inside the grid, and the other probes, are not.
    @Test func linearProbesAtTheirSearchLimitsAreNamed() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        func write(_ method: String, c: Double, refit: Int) throws {
            try tree.addRun(method: method, seed: 0, top1: 70)
            let text = tree.metrics(probe: "linear", method: method, budget: "tiny", seed: 0, hash: "c0ffee\(method.count)0",
                                    metrics: "{\"top1\": 70, \"C\": \(c)}")
                .replacingOccurrences(of: "\"protocol\": {", with: "\"protocol\": {\"strengths\": [0.01, 1, 10000], "
                                      + "\"max_iterations\": 500, \"iterations\": [10, 20, 30, \(refit)], ")
            try tree.write(text, to: "runs/tiny/\(method)/seed0/eval/linear.json")
        }
        try write("random-init-dino", c: 10000, refit: 500)
        try write("mae", c: 1, refit: 499)
        try write("lomar", c: 0.01, refit: 12)
        let rows = ResultsSummary.rows(try RunCollector.collect(root: tree.runs))
        let linear = rows.filter { $0.probe == "linear" }
        #expect(linear.first { $0.method == "random-init-dino" }?.probeLimits
                == ["seed 0: C 1e+04 is the grid's largest, the refit stopped at the 500-iteration cap"])
        #expect(linear.first { $0.method == "lomar" }?.probeLimits == ["seed 0: C 0.01 is the grid's smallest"])
        #expect(linear.first { $0.method == "mae" }?.probeLimits == [])
        #expect(rows.filter { $0.probe != "linear" }.allSatisfy { $0.probeLimits.isEmpty })
        let table = MarkdownTables.render(key: TableKey(budget: "tiny", dataset: "fashion-mnist", probe: "linear"), rows: linear,
                                          floors: floors)
        #expect(table.contains("**The probe at the limits of its search**: lomar (seed 0: C 0.01 is the grid's smallest); "
                               + "random-init-dino (seed 0: C 1e+04 is the grid's largest, the refit stopped at the 500-iteration cap)."),
                "\(table)")
        #expect(!table.contains("mae (seed"))
    }

    /// One budget's tables never touch another budget's versions (make reproduce-all BUDGET=smoke
    /// once rewrote the committed tiny results).
    @Test func aBudgetsVersionsAreItsOwn() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        try tree.addRun(budget: "smoke", method: "mae", seed: 0, top1: 50)
        let out = tree.root + "/results", claims = try claims()
        func write(_ budget: String, _ choice: ResultsVersioning.Choice) throws -> String {
            let folder = ResultsVersioning.budgetDirectory(out: out, budget: budget)
            let version = try ResultsVersioning.resolve(choice, outDirectory: folder)
            let only = try RunCollector.collect(root: tree.runs, budget: budget)
            try ResultsVersioning.install(files: ResultsBundle.build(collection: only, claims: claims, version: version, floors: floors),
                                          version: version, outDirectory: folder)
            return folder + "/v\(version)"
        }
        let tiny = try write("tiny", .new)
        let before = try FakeRunTree.contents(of: tiny)
        #expect(!before.keys.contains { $0.hasPrefix("tables/smoke/") }, "a version holds its own budget only")
        #expect(try write("smoke", .new).hasSuffix("/smoke/v1"))
        #expect(try write("smoke", .latest).hasSuffix("/smoke/v1"))
        #expect(try FakeRunTree.contents(of: tiny) == before)
        #expect(ResultsVersioning.existingVersions(in: out + "/tiny") == [1])
    }

    /// RandSAC's CIFAR claims are measured on a CIFAR pack when one was evaluated, else on the
    /// embedded default as their labelled dataset proxy, and the verdict says which.
    @Test func cifarClaimsFallBackToTheirLabelledDatasetProxy() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        for seed in 0..<3 {
            try tree.addRun(method: "mae", seed: seed, top1: 80 + [0.0, 0.3, -0.2][seed])
            try tree.addRun(method: "randsac", seed: seed, top1: 86 + [0.1, 0.2, 0.0][seed])
        }
        let results = ClaimsEvaluator.evaluate(try claims(), runs: try RunCollector.collect(root: tree.runs), budget: "tiny")
        let cifar10 = try #require(results.first { $0.claim.id == "randsac_square_vs_mae_cifar10_linear_top1" })
        #expect(cifar10.measuredOn == "fashion-mnist" && cifar10.evaluation.sampleCount == 3)
        #expect(cifar10.evaluation.verdict == .reproduced, "+6 against a reported +4.8")
        let imagenet = try #require(results.first { $0.claim.id == "randsac_square_vs_mae_imagenet_linear_top1" })
        #expect(imagenet.claim.proxy.dataset == nil && imagenet.measuredOn == nil, "ImageNet claims accept any pack, as before")
        let markdown = ClaimsReport.markdown([(budget: "tiny", results: results)])
        // The CIFAR-10, CIFAR-100 and ImageNet rows read the same numbers: one measurement, one row.
        #expect(markdown.contains("| randsac vs mae | linear/top1 on fashion-mnist (dataset proxy for cifar-10, cifar-100) | "
                                  + "randsac_square_vs_mae_cifar10_linear_top1"), "\(markdown)")
        let row = try #require(markdown.split(separator: "\n").first { $0.contains("randsac_square_vs_mae_cifar10_linear_top1") })
        #expect(row.contains("randsac_square_vs_mae_cifar100_linear_top1") && row.contains("randsac_square_vs_mae_imagenet_linear_top1"),
                "\(row)")
        #expect(imagenet.measuredPack == "fashion-mnist" && cifar10.measuredPack == "fashion-mnist")
        // A CIFAR-10 pack's evaluations take precedence: the proxy is not used.
        for (method, top1, slope) in [("mae", 90.0, 0.1), ("randsac", 89.0, 0.15)] {
            for seed in 0..<3 {
                try tree.write(tree.metrics(probe: "linear", method: method, budget: "tiny", seed: seed,
                                            hash: "c0ffee\(method.count)\(seed)",
                                            metrics: "{\"top1\": \(top1 + Double(seed) * slope), \"C\": 0.1}")
                                   .replacingOccurrences(of: "\"name\": \"fashion-mnist\"", with: "\"name\": \"cifar-10\""),
                               to: "runs/tiny/\(method)/seed\(seed)/eval/linear.json")
            }
        }
        let direct = ClaimsEvaluator.evaluate(try claims(), runs: try RunCollector.collect(root: tree.runs), budget: "tiny")
        let measured = try #require(direct.first { $0.claim.id == "randsac_square_vs_mae_cifar10_linear_top1" })
        #expect(measured.measuredOn == nil && measured.evaluation.verdict == .contradicted)
    }

    /// A claim without a dataset of its own pairs seed k only where both arms measured the same
    /// thing: the same pack and the same images (a CIFAR run against a Fashion-MNIST one is a
    /// 20-point "difference" of datasets), and for pretraining throughput the same machine and
    /// threads. What is left out is said in the reason.
    @Test func armsPairOnlyUnderTheSameConditions() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        for seed in 0..<3 {
            try tree.addRun(method: "mae", seed: seed, top1: 84 + [0.0, 0.3, -0.2][seed], wallSeconds: 100 + Double(seed),
                            threads: seed == 2 ? 1 : 2)
            try tree.addRun(method: "randsac", seed: seed, top1: 62 + [0.1, 0.4, 0.0][seed])
            try tree.addRun(method: "lomar", seed: seed, top1: 85, wallSeconds: 50 + Double(seed))
        }
        // randsac's seeds 0 and 1 ran on CIFAR-10; seed 2 on Fashion-MNIST but on its first 1,000 images.
        for seed in 0..<2 {
            try tree.write(tree.metrics(probe: "linear", method: "randsac", budget: "tiny", seed: seed, hash: "c0ffee7\(seed)",
                                        metrics: "{\"top1\": 62, \"C\": 0.1}")
                               .replacingOccurrences(of: "\"name\": \"fashion-mnist\"", with: "\"name\": \"cifar-10\""),
                           to: "runs/tiny/randsac/seed\(seed)/eval/linear.json")
        }
        try tree.write(tree.metrics(probe: "linear", method: "randsac", budget: "tiny", seed: 2, hash: "c0ffee72",
                                    metrics: "{\"top1\": 62, \"C\": 0.1}")
                           .replacingOccurrences(of: "\"feature\": \"cls\"", with: "\"subset\": \"first 1000 train / 250 test images\""),
                       to: "runs/tiny/randsac/seed2/eval/linear.json")
        let results = ClaimsEvaluator.evaluate(try claims(), runs: try RunCollector.collect(root: tree.runs), budget: "tiny")
        let imagenet = try #require(results.first { $0.claim.id == "randsac_square_vs_mae_imagenet_linear_top1" })
        #expect(imagenet.evaluation.sampleCount == 0 && imagenet.evaluation.verdict == .inconclusive, "\(imagenet.evaluation)")
        let reason = imagenet.evaluation.reason ?? ""
        #expect(reason.contains("seed 0 not compared: randsac dataset cifar-10 vs mae dataset fashion-mnist"), "\(reason)")
        #expect(reason.contains("seed 2 not compared: randsac images first 1000 train / 250 test images vs mae images all"),
                "\(reason)")
        // Throughput: mae's seed 2 ran on 1 thread, lomar's on 2, so only seeds 0 and 1 pair.
        let speed = try #require(results.first { $0.claim.id == "lomar_vs_mae_inaturalist_speed" })
        #expect(speed.evaluation.pairedSeeds == [0, 1], "\(speed.evaluation)")
        #expect(speed.evaluation.reason?.contains("seed 2 not compared") == true && speed.evaluation.reason?.contains("1 thread(s)") == true)
    }

    /// A run resumed under another thread count averages two speeds: its throughput pairs with
    /// no baseline seed, the reason names its segments, and provenance.md lists it. A run resumed
    /// under the same conditions still pairs; segments that do not follow each other are refused.
    @Test func runsResumedUnderOtherConditionsHaveNoThroughputToCompare() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        func segment(_ from: Int, _ to: Int, threads: Int) -> String {
            "{\"from_step\": \(from), \"to_step\": \(to), \"threads\": \(threads), \"machine\": \"x86_64 test, 2 cores\", "
                + "\"gemm_path\": \"avx2-fma\", \"wall_seconds\": 25}"
        }
        // Seed 3 was resumed by this binary from a checkpoint of an older one: its first segment's conditions are unknown.
        let unrecorded = "{\"from_step\": 0, \"to_step\": 40, \"wall_seconds\": 25}"
        for seed in 0..<4 {
            try tree.addRun(method: "mae", seed: seed, top1: 84, wallSeconds: 100 + Double(seed))
            let segments = [0: "[\(segment(0, 40, threads: 1)), \(segment(40, 78, threads: 2))]",
                            1: "[\(segment(0, 40, threads: 2)), \(segment(40, 78, threads: 2))]",
                            3: "[\(unrecorded), \(segment(40, 78, threads: 2))]"][seed]
            try tree.addRun(method: "lomar", seed: seed, top1: 85, wallSeconds: 50, segments: segments)
        }
        let collection = try RunCollector.collect(root: tree.runs)
        let results = ClaimsEvaluator.evaluate(try claims(), runs: collection, budget: "tiny")
        let speed = try #require(results.first { $0.claim.id == "lomar_vs_mae_inaturalist_speed" })
        #expect(speed.evaluation.pairedSeeds == [1, 2], "\(speed.evaluation)")
        let reason = speed.evaluation.reason ?? ""
        #expect(reason.contains("seed 0 not compared: lomar resumed under other conditions (steps 0–40: 1 thread(s), "
                                + "x86_64 test, 2 cores, GEMM avx2-fma; steps 40–78: 2 thread(s)"), "\(reason)")
        #expect(reason.contains("seed 3 not compared: lomar resumed under other conditions (steps 0–40: conditions unrecorded; "),
                "\(reason)")
        let provenance = ProvenanceReport.markdown(collection)
        let resumed = try #require(provenance.components(separatedBy: "## Resumed runs").dropFirst().first)
        #expect(resumed.contains("| tiny/lomar/seed0 | steps 0–40: 1 thread(s)") && resumed.contains("| tiny/lomar/seed1 |"))
        #expect(!resumed.contains("seed2") && !resumed.contains("mae"), "\(resumed)")

        try tree.addRun(method: "lomar", seed: 4, top1: 85, segments: "[\(segment(0, 40, threads: 1)), \(segment(41, 78, threads: 1))]")
        #expect(throws: ResultsError.self) { try RunCollector.collect(root: tree.runs) }
        do { _ = try RunCollector.collect(root: tree.runs) } catch {
            #expect("\(error)".contains("seed4/run.json: provenance.segments[1] runs from step 41 to 78"), "\(error)")
        }
    }

    /// A setting a user can change for one arm (fine-tuning epochs, an asked-for readout) stops
    /// that seed pairing; the method's own readout and solver details do not.
    @Test func armsPairOnlyUnderTheSameProbeSettings() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        func rewrite(_ method: String, seed: Int, probe: String, settings: String) throws {
            let path = tree.runs + "/tiny/\(method)/seed\(seed)/eval/\(probe).json"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try tree.write(text.replacingOccurrences(of: "\"protocol\": {\"feature\": \"cls\",", with: "\"protocol\": {\(settings),"),
                           to: "runs/tiny/\(method)/seed\(seed)/eval/\(probe).json")
        }
        for seed in 0..<3 {
            // Each arm's own readout and a solver detail differ on every seed: still comparable.
            try rewrite("mae", seed: seed, probe: "finetune", settings: "\"readout_source\": \"method table (mae)\", "
                        + "\"feature_kind\": \"cls\", \"epochs\": 4, \"evaluation_batch_size\": 256")
            let lomarEpochs = seed == 1 ? 8 : 4
            try rewrite("lomar", seed: seed, probe: "finetune", settings: "\"readout_source\": \"method table (lomar)\", "
                        + "\"feature_kind\": \"mean\", \"epochs\": \(lomarEpochs), \"evaluation_batch_size\": 64")
            try rewrite("mae", seed: seed, probe: "seg", settings: "\"readout_source\": \"method table (mae)\"")
            try rewrite("lomar", seed: seed, probe: "seg",
                        settings: "\"readout_source\": \"\(seed == 2 ? "asked" : "method table (lomar)")\"")
        }
        let results = ClaimsEvaluator.evaluate(try claims(), runs: try RunCollector.collect(root: tree.runs), budget: "tiny")
        let fineTune = try #require(results.first { $0.claim.id == "lomar_vs_mae_imagenet_finetune_224_top1" })
        #expect(fineTune.evaluation.pairedSeeds == [0, 2], "\(fineTune.evaluation)")
        #expect(fineTune.evaluation.reason?.contains("seed 1 not compared: lomar epochs 8 vs mae epochs 4") == true,
                "\(fineTune.evaluation.reason ?? "")")
        let seg = try #require(results.first { $0.claim.id == "lomar_vs_mae_ade20k_miou" })
        #expect(seg.evaluation.pairedSeeds == [0, 1], "\(seg.evaluation)")
        #expect(seg.evaluation.reason?.contains("seed 2 not compared: lomar readout_source asked vs mae readout_source method table")
                == true, "\(seg.evaluation.reason ?? "")")
    }

    /// A verdict resting on files written by a checkout with uncommitted changes says so, in
    /// results.json and in the row's note of claims.md.
    @Test func uncommittedInputsAreNamed() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        let seg = tree.metrics(probe: "seg", method: "lomar", budget: "tiny", seed: 1, hash: "c0ffee51",
                               metrics: "{\"mIoU\": 29.25, \"aAcc\": 70.5}")
        try tree.write(String(seg.dropLast()) + ", \"git_commit\": \"feedfacefeedface0000\", \"git_dirty\": true}",
                       to: "runs/tiny/lomar/seed1/eval/seg.json")
        // mae's seed 2 was pretrained by a binary built from another commit, with changes.
        let runPath = tree.runs + "/tiny/mae/seed2/run.json"
        try tree.write(try String(contentsOfFile: runPath, encoding: .utf8).replacingOccurrences(
            of: "\"git_dirty\": false,", with: "\"git_dirty\": false, \"build_commit\": \"beefbeefbeefbeef0000\", \"build_dirty\": true,"),
            to: "runs/tiny/mae/seed2/run.json")
        let collection = try RunCollector.collect(root: tree.runs)
        let results = ClaimsEvaluator.evaluate(try claims(), runs: collection, budget: "tiny")
        let ade = try #require(results.first { $0.claim.id == "lomar_vs_mae_ade20k_miou" })
        #expect(ade.uncommittedInputs == ["tiny/lomar/seed1/eval/seg.json", "tiny/mae/seed2/run.json"])
        #expect(try #require(results.first { $0.claim.id == "lomar_vs_mae_imagenet_finetune_224_top1" }).uncommittedInputs
                == ["tiny/mae/seed2/run.json"])
        let markdown = ClaimsReport.markdown([(budget: "tiny", results: results)])
        #expect(markdown.contains("Measured with uncommitted code (a run's git_dirty or build_dirty, an eval's build_dirty): 2 file(s), "
                                  + "tiny/lomar/seed1/eval/seg.json"),
                "\(markdown)")
        let provenance = ProvenanceReport.markdown(collection)
        #expect(provenance.contains("| tiny/mae/seed2 | 0123456789ab (binary built from beefbeefbeef) | yes |"), "\(provenance)")
    }

    /// An evaluation reads nothing from the checkout, so a dirty working tree beside a binary built
    /// from a clean commit does not make its file uncommitted; a dirty build does, and a file without
    /// the build stamp falls back to the checkout's flag.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true), (true, nil), (false, nil)] as [(Bool, Bool?)])
    func anEvalIsUncommittedWhenItsBinaryWas(gitDirty: Bool, buildDirty: Bool?) throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        let seg = tree.metrics(probe: "seg", method: "lomar", budget: "tiny", seed: 1, hash: "c0ffee51",
                               metrics: "{\"mIoU\": 29.25, \"aAcc\": 70.5}")
        let build = buildDirty.map { ", \"build_commit\": \"beefbeefbeefbeef0000\", \"build_dirty\": \($0)" } ?? ""
        try tree.write(String(seg.dropLast()) + ", \"git_commit\": \"feedfacefeedface0000\", \"git_dirty\": \(gitDirty)\(build)}",
                       to: "runs/tiny/lomar/seed1/eval/seg.json")
        let results = ClaimsEvaluator.evaluate(try claims(), runs: try RunCollector.collect(root: tree.runs), budget: "tiny")
        let ade = try #require(results.first { $0.claim.id == "lomar_vs_mae_ade20k_miou" })
        #expect(ade.uncommittedInputs == ((buildDirty ?? gitDirty) ? ["tiny/lomar/seed1/eval/seg.json"] : []))
    }

    /// Speed claims with a grid read `patchbench speed` rows at that grid (the budget's decoder),
    /// rounds paired; other grids, decoders and budgets are not mixed in.
    @Test func speedClaimsWithAGridReadTheSpeedFile() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addStandardRuns()
        try FileManager.default.createDirectory(atPath: tree.runs + "/speed", withIntermediateDirectories: true)
        func row(_ grid: Int, _ decoder: String, mae: [Double], lomar: [Double]) -> String {
            """
            {"grid": \(grid), "image_size": \(grid * 4), "decoder": "\(decoder)", "decoder_dimension": 512, "decoder_depth": 8,
             "window_size": 7, "window_count": 4, "batch": 16, "baseline_images_per_second": \(mae),
             "method_images_per_second": \(lomar), "speedup": 0, "flop_ratio": 0, "threads": 2}
            """
        }
        let file = """
            {"schema": "patchbench.speed/3", "budget": "tiny", "methods": {"method": "lomar", "baseline": "mae"},
             "provenance": {}, "rows": [\(row(28, "paper", mae: [1, 1], lomar: [9, 9])),
                                        \(row(28, "budget", mae: [10, 20, 10], lomar: [30, 60, 31])),
                                        \(row(24, "budget", mae: [10, 10, 10], lomar: [5, 6, 5.5]))]}
            """
        try file.write(toFile: tree.runs + "/speed/tiny.json", atomically: true, encoding: .utf8)
        let collection = try RunCollector.collect(root: tree.runs)
        #expect(collection.budgets == ["tiny"], "runs/speed is not a budget")
        let results = ClaimsEvaluator.evaluate(try claims(), runs: collection, budget: "tiny")
        func evaluation(_ id: String) throws -> ClaimEvaluation { try #require(results.first { $0.claim.id == id }).evaluation }
        let at28 = try evaluation("lomar_vs_mae_pretrain448_speed")
        #expect(at28.sampleCount == 3 && at28.verdict == .reproduced)
        #expect(abs(at28.meanRatio! - pow(3.0 * 3.0 * 3.1, 1.0 / 3)) < 1e-9)
        #expect(try evaluation("lomar_vs_mae_pretrain384_speed").verdict == .contradicted)
        let markdown = ClaimsReport.markdown([(budget: "tiny", results: results)])
        #expect(markdown.contains("| lomar_vs_mae_pretrain448_speed | lomar vs mae | grid 28×28 (patchbench speed) |"))
        #expect(markdown.contains("| lomar_vs_mae_inaturalist_speed | lomar vs mae | pretraining runs (budget grid) |"))
        #expect(try evaluation("densecl_vs_mocov2_pretrain_speed").verdict == .notRun, "the LoMaR file does not time DenseCL")
        // DenseCL's pair has its own file (no decoder, no windows), read at the claim's grid only.
        let densecl = """
            {"schema": "patchbench.speed/3", "budget": "tiny", "methods": {"method": "densecl", "baseline": "mocov2"},
             "provenance": {}, "rows": [{"grid": 8, "image_size": 32, "batch": 16, "baseline_images_per_second": [100, 100, 100],
              "method_images_per_second": [80, 82, 81], "speedup": 0.81, "flop_ratio": 0.9, "threads": 2}]}
            """
        try densecl.write(toFile: tree.runs + "/speed/tiny-densecl.json", atomically: true, encoding: .utf8)
        let withDenseCL = ClaimsEvaluator.evaluate(try claims(), runs: try RunCollector.collect(root: tree.runs), budget: "tiny")
        let slower = try #require(withDenseCL.first { $0.claim.id == "densecl_vs_mocov2_pretrain_speed" }).evaluation
        #expect(slower.sampleCount == 3 && slower.verdict == .contradicted, "19 % slower is not '< 1 % slower'")
        // A second file timing the same pair in the same budget is refused, naming both.
        try densecl.write(toFile: tree.runs + "/speed/tiny-densecl-old.json", atomically: true, encoding: .utf8)
        #expect { try RunCollector.collect(root: tree.runs, budget: "tiny") } throws: {
            "\($0)".contains("tiny-densecl.json") && "\($0)".contains("tiny-densecl-old.json")
        }
        try FileManager.default.removeItem(atPath: tree.runs + "/speed/tiny-densecl-old.json")
        // A file of another schema is refused with its name; one budget's tables do not read
        // another budget's files.
        try file.replacingOccurrences(of: "speed/3", with: "speed/1").write(toFile: tree.runs + "/speed/tiny.json", atomically: true, encoding: .utf8)
        #expect { try RunCollector.collect(root: tree.runs) } throws: { "\($0)".contains("speed/tiny.json") && "\($0)".contains("speed/1") }
        try file.write(toFile: tree.runs + "/speed/tiny.json", atomically: true, encoding: .utf8)
        try tree.write("{\"schema\": \"patchbench.run/1\", ", to: "runs/smoke/mae/seed0/run.json")
        try file.replacingOccurrences(of: "speed/3", with: "speed/1").write(toFile: tree.runs + "/speed/smoke.json", atomically: true,
                                                                            encoding: .utf8)
        #expect(throws: (any Error).self) { try RunCollector.collect(root: tree.runs) }
        let tinyOnly = try RunCollector.collect(root: tree.runs, budget: "tiny")
        #expect(tinyOnly.budgets == ["tiny"] && tinyOnly.speed.count == 2 && tinyOnly.speed.allSatisfy { $0.budget == "tiny" })
    }

    @Test func malformedMetricsJSONNamesTheFile() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addRun(method: "mae", seed: 0, top1: 80)
        try tree.write("{\"schema\": \"patchbench.metrics/1\", \"probe\": \"linear\", \"metrics\": {\"top1\": ",
            to: "runs/tiny/mae/seed0/eval/linear.json")
        do {
            _ = try RunCollector.collect(root: tree.runs)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("tiny/mae/seed0/eval/linear.json"))
        }
    }

    @Test func metricsWithWrongTypeNamesFileAndKey() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addRun(method: "mae", seed: 0, top1: 80)
        let path = "runs/tiny/mae/seed0/eval/linear.json"
        let text = tree.metrics(probe: "linear", method: "mae", budget: "tiny", seed: 0, hash: "c0ffee30",
            metrics: "{\"top1\": \"high\"}")
        try tree.write(text, to: path)
        do {
            _ = try RunCollector.collect(root: tree.runs)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("eval/linear.json") && "\(error)".contains("metrics"))
        }
    }

    @Test func staleEvaluationIsRejected() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addRun(method: "mae", seed: 0, top1: 80)
        try tree.write(tree.metrics(probe: "linear", method: "mae", budget: "tiny", seed: 0, hash: "other",
            metrics: "{\"top1\": 1}"), to: "runs/tiny/mae/seed0/eval/linear.json")
        #expect(throws: ResultsError.self) { try RunCollector.collect(root: tree.runs) }
    }

    @Test func malformedLogLineNamesFileAndLine() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addRun(method: "mae", seed: 0, top1: 80)
        try tree.write("{\"step\": 1, \"images_seen\": 64, \"loss\": 1.0}\n{\"step\": 2, \"loss\"\n",
            to: "runs/tiny/mae/seed0/log.jsonl")
        do {
            _ = try RunCollector.collect(root: tree.runs)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("log.jsonl line 2"))
        }
    }

    @Test func incompleteRunsAreSkippedAndListed() throws {
        let tree = try FakeRunTree()
        defer { tree.remove() }
        try tree.addRun(method: "mae", seed: 0, top1: 80)
        try tree.addRun(method: "mae", seed: 1, top1: 80, completed: false)
        let collection = try RunCollector.collect(root: tree.runs)
        #expect(collection.runs.map(\.seed) == [0])
        #expect(collection.skipped == [SkippedRun(relativePath: "tiny/mae/seed1", reason: "run.json has completed = false")])
        #expect(ProvenanceReport.markdown(collection).contains("| tiny/mae/seed1 | run.json has completed = false |"))
    }
}
