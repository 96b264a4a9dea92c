import Evaluation
import Foundation
import Harness
import Layers
import Objectives
import Results
import TensorCore
import Testing

/// The method table and the budget blocks it reads: a block names only what it overrides, a typo
/// is an error naming the file, and a run's hash depends on its own method's settings only.
@Suite struct MethodTableTests {
    @Test func namesAreUniqueAndEveryArmSharesItsBaseBlock() throws {
        let names = Method.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(try Method.named("dino-ca").base == "selfpatch")
        #expect(Method.dinoCA.configKey == Method.selfpatch.configKey)
        #expect(Method.lomarRPETable.configKey == Method.lomar.configKey)
        #expect { try Method.named("dinov2") } throws: { "\($0)".contains("unknown method 'dinov2'") && "\($0)".contains("selfpatch") }
        #expect(Method.reproduced.map(\.name) == ["random-init", "random-init-lomar", "random-init-randsac", "random-init-mean",
                                                   "random-init-dino", "random-init-selfpatch", "constant-class", "raw-pixels", "supervised", "mae", "lomar", "dino", "dino-ca", "selfpatch", "mocov2", "densecl",
                                                   "relational-reasoning", "spatial-reasoning", "randsac", "randsac-blob"])
        #expect(Method.spatialReasoningCodeOverlap.configKey == Method.spatialReasoning.configKey)
        #expect(Method.all.filter { $0.base == "randsac" }.allSatisfy { $0.configKey == "randsac" })
    }

    @Test func readoutsFollowTheAuthorsEvaluation() {
        #expect(Method.dino.readout(for: .linear) == .lastBlocks(4) && Method.dino.readout(for: .knn) == .cls)
        #expect(Method.lomar.readout(for: .linear) == .mean && Method.lomar.readout(for: .knn) == .mean)
        #expect(Method.mae.readout(for: .linear) == .cls)
        for method in Method.all { #expect(method.readout(for: .seg) == .grid && method.readout(for: .det) == .grid) }
        #expect(FeatureKind.lastBlocks(4).fitted(depth: 2) == .lastBlocks(2))
        #expect(FeatureKind.lastBlocks(4).fitted(depth: 6) == .lastBlocks(4) && FeatureKind.cls.fitted(depth: 1) == .cls)
    }

    /// Every method is marked against the untrained floor of its own encoder variant read its own
    /// way, on every committed budget; each floor is its source method's encoder, never trained.
    @Test func eachMethodHasTheFloorOfItsEncoderAndReadout() throws {
        let expected = ["supervised": "random-init", "mae": "random-init", "lomar": "random-init-lomar",
                        "lomar-rpe-table": "random-init-lomar", "lomar-official-windows": "random-init-lomar",
                        "lomar-scaled-q": "random-init-lomar", "lomar-irpe-buckets": "random-init-lomar",
                        "dino": "random-init-dino", "dino-ca": "random-init-selfpatch", "selfpatch": "random-init-selfpatch",
                        "mocov2": "random-init-mean", "densecl": "random-init-mean", "relational-reasoning": "random-init-mean"]
        for name in ["smoke", "tiny", "small", "paper"] {
            let budget = try Budget.load(path: Budget.path(named: name, root: HarnessFixtures.root))
            let floors = Method.floors(budget: budget)
            for (method, floor) in expected { #expect(floors[method] == floor, "\(name): \(method)") }
            for method in Method.all where ["mocov2", "densecl", "relational-reasoning", "spatial-reasoning"].contains(method.base) {
                #expect(floors[method.name] == "random-init-mean", "\(name): \(method.name)")
            }
            for method in Method.all where method.base == "randsac" && method.name != "randsac-pixel-raster" {
                #expect(floors[method.name] == "random-init-randsac", "\(name): \(method.name)")
            }
            #expect(floors["randsac-pixel-raster"] == nil, "\(name): pixel tokens are another encoder")
            #expect(Method.all.filter(\.untrained).allSatisfy { floors[$0.name] == nil }, "\(name)")
            for floor in Method.all where floor.base == ResultsSummary.floorMethod {
                let resolved = try floor.resolve(budget)
                #expect(resolved.makeObjective == nil && resolved.settings == nil, "\(name): \(floor.name) is never trained")
            }
        }
        #expect(try Method.randomInitDINO.resolve(HarnessFixtures.budget()).encoder.initialization == .truncatedNormal)
        #expect(try !Method.randomInitSelfPatch.resolve(HarnessFixtures.budget()).encoder.clsToken)
    }

    /// `patchbench tables` marks no floor only where the budget file is absent; a file that is
    /// there but malformed is an error naming it, never silently an unmarked table.
    @Test func floorsOfABudgetFileAreNilOnlyWhenItIsAbsent() throws {
        let folder = HarnessFixtures.temporaryDirectory("floors-budget-file")
        #expect(try Method.floors(budgetFile: folder + "/absent.json") == nil)
        let malformed = folder + "/malformed.json"
        try Data("{\"schema\": ".utf8).write(to: URL(fileURLWithPath: malformed))
        var message = ""
        do { _ = try Method.floors(budgetFile: malformed) } catch { message = "\(error)" }
        #expect(message.contains(malformed) && message.contains("malformed budget"), "\(message)")
        let tiny = Budget.path(named: "tiny", root: HarnessFixtures.root)
        let floors = try Method.floors(budgetFile: tiny)
        let loaded = try Budget.load(path: tiny)
        #expect(floors == Method.floors(budget: loaded))
        #expect(floors?["mae"] == "random-init")
    }

    /// DINO's and SelfPatch's ViTs start from timm's truncated-normal weights and train with
    /// torch's AdamW constants; the other methods keep MAE's Xavier start and the budget's
    /// constants, and their encoder configs (so their run hashes) do not mention either.
    @Test func dinoFamilyInitialisesAndOptimisesAsItsAuthors() throws {
        let budget = try HarnessFixtures.budget()
        for method in [Method.dino, .dinoCA, .selfpatch] {
            let resolved = try method.resolve(budget)
            #expect(resolved.encoder.initialization == .truncatedNormal, "\(method.name)")
            let make = try #require(resolved.makeObjective)
            var rng = RandomStream(seed: 0)
            let adam = make(&rng).adam
            #expect(adam == .torchDefaults, "\(method.name)")
        }
        for method in [Method.mae, .mocov2, .lomar] {
            let resolved = try method.resolve(budget)
            #expect(resolved.encoder.initialization == nil, "\(method.name)")
            #expect(!String(decoding: try JSONEncoder().encode(resolved.encoder), as: UTF8.self).contains("initialization"))
            let make = try #require(resolved.makeObjective)
            var rng = RandomStream(seed: 0)
            let adam = make(&rng).adam
            #expect(adam == nil, "\(method.name)")
        }
    }

    /// Each LoMaR arm differs from LoMaR in one setting only and records its own name in
    /// encoder.h5; the two fix arms are ablations (`make reproduce-ablations`), and LoMaR's own
    /// settings never mention the query (its config hash predates the option).
    @Test(arguments: [("lomar-official-windows", "window_assignment", "official_code", false),
                      ("lomar-scaled-q", "rpe_query", "scaled", true),
                      ("lomar-irpe-buckets", "buckets", "irpe", true)])
    func lomarArmsChangeOneSetting(name: String, key: String, value: String, ablation: Bool) throws {
        let budget = try HarnessFixtures.budget()
        let method = try Method.named(name)
        #expect(method.base == "lomar" && method.ablation == ablation && !method.reproduced)
        let arm = try method.resolve(budget), base = try Method.lomar.resolve(budget)
        guard case .object(var armSettings)? = arm.settings, case .object(let baseSettings)? = base.settings else {
            Issue.record("settings are not objects")
            return
        }
        #expect(armSettings[key] == .string(value), "\(armSettings)")
        #expect(baseSettings[key] != .string(value), "\(baseSettings)")
        #expect(baseSettings["rpe_query"] == nil)
        armSettings[key] = baseSettings[key]
        #expect(armSettings == baseSettings)
        #expect(arm.encoder == base.encoder)
        let make = try #require(arm.makeObjective)
        var rng = RandomStream(seed: 0)
        let objective = make(&rng)
        #expect(objective.methodName == name)
        #expect(objective.exportedAttributes()[RelativePositionBias.queryAttribute] == (key == "rpe_query" ? value : nil))
    }

    /// SelfPatch's patch loss needs local crops of at least 3×3 patches: a budget that gives fewer
    /// is refused when it loads, naming the file and the key, instead of trapping at the first
    /// step; the shipped budgets all resolve.
    @Test func selfPatchRefusesLocalCropsBelowThreeByThreePatches() throws {
        let small = try budgetFile(#"{"selfpatch": {"dino": {"local_size": 8}}}"#, "local-small")
        #expect { try Budget.load(path: small) } throws: {
            "\($0)".contains(small) && "\($0)".contains("methods.selfpatch.dino.local_size 8") && "\($0)".contains("2×2")
                && "\($0)".contains("≥ 12")
        }
        // dino-ca has no patch loss: 2×2 local crops are fine for it.
        var budget = try HarnessFixtures.budget()
        var settings = try budget.settings(SelfPatch.Config(), key: "selfpatch")
        settings.dino.localSize = 8
        try budget.setSettings(settings, key: "selfpatch")
        #expect(throws: Never.self) { try Method.dinoCA.resolve(budget) }
        #expect(throws: HarnessError.self) { try Method.selfpatch.resolve(budget) }
        for name in ["smoke", "tiny", "small", "paper"] {
            let budget = try Budget.load(path: Budget.path(named: name, root: HarnessFixtures.root))
            for method in [Method.dino, .dinoCA, .selfpatch] {
                #expect(throws: Never.self, "\(name) \(method.name)") { try method.resolve(budget) }
            }
        }
    }

    /// Spatial Reasoning's arms own the overlap rule and the mode, so a budget naming them is
    /// refused (an unknown key) rather than overridden; more patches than can be placed apart are
    /// refused when the budget loads, not trapped on at the first step; every arm gets the
    /// budget's patch transform.
    @Test func spatialReasoningBlocksAreCheckedWhenTheyLoad() throws {
        for (block, key) in [(#"{"spatial_reasoning": {"mode": "standard"}}"#, "mode"),
                             (#"{"spatial_reasoning": {"overlap_rule": "code"}}"#, "overlap_rule")] {
            let file = try budgetFile(block, "sr-\(key)")
            #expect { try Budget.load(path: file) } throws: {
                "\($0)".contains(file) && "\($0)".contains("methods.spatial_reasoning: unknown key '\(key)'")
            }
        }
        #expect(!String(decoding: try JSONEncoder().encode(SpatialReasoning.Config()), as: UTF8.self).contains("mode"))
        let crowded = try budgetFile(#"{"spatial_reasoning": {"patches": 5}}"#, "sr-crowded")
        #expect { try Budget.load(path: crowded) } throws: {
            "\($0)".contains(crowded) && "\($0)".contains("spatial_reasoning.patches 5: at most 4 cuts of 12 px")
        }
        // Four fit (2 × 2 on 32 px); the code's rule never needs them apart.
        var budget = try HarnessFixtures.budget()
        var settings = try budget.settings(SpatialReasoning.Config(), key: "spatial_reasoning")
        settings.patches = 5
        try budget.setSettings(settings, key: "spatial_reasoning")
        #expect(throws: Never.self) { try Method.spatialReasoningCodeOverlap.resolve(budget) }
        let resolved = try Method.spatialReasoning.resolve(try HarnessFixtures.budget())
        let make = try #require(resolved.makeObjective)
        var rng = RandomStream(seed: 0)
        let sr = try #require(make(&rng) as? SpatialReasoning)
        let transform = try #require(sr.patchTransform)
        let augmentation = try HarnessFixtures.budget().augmentation
        #expect(transform.mean == augmentation.mean && transform.std == augmentation.std && transform.jitterProbability == 0.8)
    }

    /// Every Spatial Reasoning arm keeps the README's patch size to side ratio (24 / 64) on every
    /// budget, and each arm trains its own mode and overlap rule: the README run is standard mode
    /// with the code's check.
    @Test func spatialReasoningArmsKeepTheREADMEPatchRatioAndTheirRules() throws {
        let arms: [(Method, PatchMode, PatchOverlapRule)] = [
            (.spatialReasoning, .additive, .pairwise), (.spatialReasoningCodeOverlap, .additive, .code),
            (.spatialReasoningStandard, .standard, .pairwise), (.spatialReasoningStandardCodeOverlap, .standard, .code)]
        for name in ["smoke", "tiny", "small", "paper"] {
            let budget = try Budget.load(path: Budget.path(named: name, root: HarnessFixtures.root))
            let settings = try budget.settings(SpatialReasoning.Config(), key: "spatial_reasoning")
            #expect(Double(settings.patchSize) / Double(budget.augmentation.size) == 0.375,
                    "\(name): patch_size \(settings.patchSize) at \(budget.augmentation.size) px")
            for (arm, _, _) in arms { #expect(throws: Never.self, "\(name) \(arm.name)") { try arm.resolve(budget) } }
        }
        for (arm, mode, rule) in arms {
            let make = try #require(try arm.resolve(try HarnessFixtures.budget()).makeObjective)
            var rng = RandomStream(seed: 0)
            let sr = try #require(make(&rng) as? SpatialReasoning)
            #expect(sr.config.mode == mode && sr.config.overlapRule == rule, "\(arm.name)")
        }
    }

    /// A RandSAC arm is its serialization: a budget block naming one would be replaced by the
    /// arm's, so it is refused when the budget loads.
    @Test func randSACRefusesABudgetSerialization() throws {
        let file = try budgetFile(#"{"randsac": {"serialization": {"segments": "square", "square_size": 4}}}"#, "randsac-serialization")
        #expect { try Budget.load(path: file) } throws: {
            "\($0)".contains(file) && "\($0)".contains("methods.randsac.serialization is the arm's")
        }
    }

    /// The sensitivity arms differ from their base in the one setting they name (K, the λ
    /// warm-up, the blur), keep its encoder and block, and record their own names in encoder.h5.
    @Test func sensitivityArmsChangeOneSetting() throws {
        let tiny = try Budget.load(path: Budget.path(named: "tiny", root: HarnessFixtures.root))
        func setting(_ resolved: Method.Resolved, _ key: String) -> JSONValue? {
            guard case .object(let object)? = resolved.settings else { return nil }
            return object[key]
        }
        let rr = try Method.relationalReasoning.resolve(tiny)
        let k8 = try Method.relationalReasoningK8.resolve(tiny)
        #expect(rr.recipe.views.count == 4 && k8.recipe.views.count == 8)
        #expect(setting(rr, "views") == .integer(4) && setting(k8, "views") == .integer(8))
        let densecl = try Method.densecl.resolve(tiny)
        let warmup = try Method.denseCLWarmup.resolve(tiny)
        #expect(setting(densecl, "dense_warmup_steps") == .integer(0))
        #expect(setting(warmup, "dense_warmup_steps") == .integer(75), "2 % of tiny's 3,750 steps")
        #expect(densecl.recipe == warmup.recipe)
        for (base, arm) in [(Method.mocov2, Method.mocov2NoBlur), (.densecl, .denseCLNoBlur)] {
            let b = try base.resolve(tiny)
            let a = try arm.resolve(tiny)
            #expect(b.recipe.views.map(\.blurProbability) == [0.5, 0.5])
            #expect(a.recipe.views.map(\.blurProbability) == [0, 0])
            var blurred = a.recipe
            for i in blurred.views.indices { blurred.views[i].blurProbability = 0.5 }
            #expect(blurred == b.recipe, "\(arm.name) differs from \(base.name) in the blur only")
            #expect(a.settings == b.settings)
        }
        for arm in [Method.relationalReasoningK8, .denseCLWarmup, .mocov2NoBlur, .denseCLNoBlur] {
            let base = try Method.named(arm.base)
            #expect(arm.configKey == base.configKey && !arm.reproduced && !arm.ablation, "\(arm.name)")
            let resolved = try arm.resolve(HarnessFixtures.budget())
            let baseEncoder = try base.resolve(HarnessFixtures.budget()).encoder
            #expect(resolved.encoder == baseEncoder)
            let make = try #require(resolved.makeObjective)
            var rng = RandomStream(seed: 0)
            let objective = make(&rng)
            #expect(objective.methodName == arm.name)
        }
        let file = try budgetFile(#"{"densecl": {"dense_warmup_steps": 10}}"#, "densecl-warmup")
        let set = try Budget.load(path: file)
        #expect(setting(try Method.denseCLWarmup.resolve(set), "dense_warmup_steps") == .integer(10))
    }

    /// The Makefile's default METHODS is the table's (through `patchbench methods --make`).
    @Test func theMakefileReadsTheTable() throws {
        let makefile = try String(contentsOfFile: HarnessFixtures.root + "/Makefile", encoding: .utf8)
        #expect(makefile.contains("METHODS ?= $(TABLE_METHODS)"))
        #expect(makefile.contains("methods --make"))
        #expect(!makefile.contains("RATE_mae :="), "rates belong to the method table")
        #expect(makefile.contains("speed_file = $(SPEED_DIR)/$(SPEED_FILE_$(1))"), "speed files are named by SpeedFile.fileName")
    }

    func budgetFile(_ methods: String, _ name: String) throws -> String {
        let path = HarnessFixtures.temporaryDirectory("blocks-\(name)") + "/\(name).json"
        var text = try String(contentsOfFile: Budget.path(named: "smoke", root: HarnessFixtures.root), encoding: .utf8)
        let start = try #require(text.range(of: "\"methods\": {"))
        text = String(text[..<start.lowerBound]) + "\"methods\": \(methods)\n}\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aBlockOverridesOnlyTheKeysItNames() throws {
        let budget = try Budget.load(path: try budgetFile(#"{"dino": {"local_crops": 2}, "selfpatch": {"dino": {"outputs": 64}}}"#, "partial"))
        let dino = try budget.settings(DINO.Config(), key: "dino")
        var expected = DINO.Config()
        expected.localCrops = 2
        #expect(dino == expected)
        let selfpatch = try budget.settings(SelfPatch.Config(), key: "selfpatch")
        #expect(selfpatch.dino.outputs == 64 && selfpatch.dino.hidden == DINO.Config().hidden
                && selfpatch.patchLossWeight == SelfPatch.Config().patchLossWeight)
        // No block at all: the defaults.
        #expect(try budget.settings(MAE.Config(), key: "mae") == MAE.Config())
        // dino reads its own block; the SelfPatch arms read selfpatch.dino.
        #expect(try Method.dino.resolve(budget).recipe.views.count == 2 + 2)
        #expect(try Method.dinoCA.resolve(budget).recipe.views.count == 2 + DINO.Config().localCrops)
    }

    @Test func typosAndBadValuesNameTheFileAndTheKey() throws {
        let typo = try budgetFile(#"{"dino": {"local_crop": 2}}"#, "typo")
        #expect { try Budget.load(path: typo) } throws: {
            "\($0)".contains(typo) && "\($0)".contains("methods.dino: unknown key 'local_crop'") && "\($0)".contains("local_crops")
        }
        let nested = try budgetFile(#"{"selfpatch": {"dino": {"tau": 1}}}"#, "nested")
        #expect { try Budget.load(path: nested) } throws: { "\($0)".contains("methods.selfpatch.dino: unknown key 'tau'") }
        let method = try budgetFile(#"{"dinov2": {}}"#, "method")
        #expect { try Budget.load(path: method) } throws: { "\($0)".contains(method) && "\($0)".contains("methods.dinov2 is no method's block") }
        let type = try budgetFile(#"{"mae": {"mask_ratio": "high"}}"#, "type")
        #expect { try Budget.load(path: type) } throws: { "\($0)".contains(type) && "\($0)".contains("mask_ratio") }
        let window = try budgetFile(#"{"lomar": {"window_size": 9}}"#, "window")
        #expect { try Budget.load(path: window) } throws: { "\($0)".contains(window) && "\($0)".contains("window_size 9") }
        // The position term's q is the arm's (lomar-scaled-q), not a budget's.
        let query = try budgetFile(#"{"lomar": {"rpe_query": "scaled"}}"#, "query")
        #expect { try Budget.load(path: query) } throws: { "\($0)".contains(query) && "\($0)".contains("methods.lomar: unknown key 'rpe_query'") }
    }

    /// Editing one method's block leaves every other method's config hash alone; the budget's
    /// notes are in no hash.
    @Test func aRunHashesItsOwnSettingsOnly() throws {
        let budget = try HarnessFixtures.budget()
        var edited = budget
        var dino = try edited.settings(DINO.Config(), key: "dino")
        dino.teacherMomentum = 0.99
        try edited.setSettings(dino, key: "dino")
        func hash(_ method: Method, _ b: Budget) throws -> String {
            ResolvedConfig(method: method, resolved: try method.resolve(b), budget: b, dataPath: "p.h5").hash
        }
        #expect(try hash(.mae, budget) == (try hash(.mae, edited)))
        #expect(try hash(.selfpatch, budget) == (try hash(.selfpatch, edited)))
        #expect(try hash(.dino, budget) != (try hash(.dino, edited)))
        #expect(try hash(.dino, budget) != (try hash(.mae, budget)))
        var corrected = budget
        corrected.notes.append("A corrected note.")
        #expect(try hash(.mae, budget) == (try hash(.mae, corrected)), "notes are prose, not part of a run")
    }
}

/// `patchbench speed`'s measurement: one row per grid and decoder, every round timed for both
/// methods, the papers' decoder where asked (timings themselves are not asserted).
@Suite struct SpeedComparisonTests {
    @Test func rowsPerGridAndDecoderWithEveryRound() throws {
        let budget = try HarnessFixtures.budget()
        let rows = try SpeedComparison.measure(budget: budget, grids: [4, 6], decoders: [.budget, .paper], batch: 2, warmup: 0,
                                               rounds: 3, threads: 1)
        #expect(rows.map(\.grid) == [4, 4, 6, 6] && rows.map(\.decoder) == ["budget", "paper", "budget", "paper"])
        for row in rows {
            #expect(row.baselineImagesPerSecond.count == 3 && row.methodImagesPerSecond.count == 3)
            #expect(row.baselineImagesPerSecond.allSatisfy { $0 > 0 } && row.flopRatio > 0)
        }
        #expect(rows[1].decoderDimension == 512 && rows[1].decoderDepth == 8)
        // The paper's decoder costs MAE more FLOPs, so the FLOP-bound ratio grows.
        #expect(rows[1].flopRatio > rows[0].flopRatio)
        #expect(rows[0].windowSize == 4 && rows[2].windowSize == 4)
    }

    @Test func denseCLAgainstMoCoEveryRound() throws {
        let rows = try SpeedComparison.measurePair(method: .densecl, baseline: .mocov2, budget: try HarnessFixtures.budget(),
                                                   grids: [8], batch: 4, warmup: 1, rounds: 3, threads: 1)
        #expect(rows.count == 1 && rows[0].grid == 8 && rows[0].decoder == nil && rows[0].windowSize == nil)
        #expect(rows[0].baselineImagesPerSecond.count == 3 && rows[0].methodImagesPerSecond.allSatisfy { $0 > 0 })
        // DenseCL adds the dense head and contrast to MoCo-v2's step: more FLOPs per image.
        #expect(rows[0].flopRatio < 1)
    }

    @Test func aRandSACArmAgainstMAE() throws {
        let pixel = try Method.named("randsac-pixel-raster"), square = try Method.named("randsac")
        let budget = try HarnessFixtures.budget()
        let rows = try [square, pixel].map {
            try SpeedComparison.measurePair(method: $0, baseline: .mae, budget: budget, grids: [4], batch: 2, warmup: 0, rounds: 2,
                                            threads: 1)[0]
        }
        #expect(rows.allSatisfy { $0.methodImagesPerSecond.count == 2 && $0.methodImagesPerSecond.allSatisfy { $0 > 0 } })
        // Pixel tokens: 16× the tokens of the patch arm, far more FLOPs against the same MAE step.
        #expect(rows[1].flopRatio < rows[0].flopRatio / 10)
    }

    @Test func selfPatchArmsAgainstDINOOnTheMultiCropViews() throws {
        var budget = try HarnessFixtures.budget()
        var selfpatch = try budget.settings(SelfPatch.Config(), key: "selfpatch")
        selfpatch.dino = try budget.settings(DINO.Config(), key: "dino")
        selfpatch.patchOutputs = 16
        try budget.setSettings(selfpatch, key: "selfpatch")
        let rows = try [Method.selfpatch, Method.dinoCA].map {
            try SpeedComparison.measurePair(method: $0, baseline: .dino, budget: budget, grids: [8], batch: 2, warmup: 1, rounds: 2,
                                            threads: 1)[0]
        }
        #expect(rows.allSatisfy { $0.grid == 8 && $0.methodImagesPerSecond.count == 2 && $0.baselineImagesPerSecond.allSatisfy { $0 > 0 } })
        // The teacher runs on every crop and the patch tokens get a head: SelfPatch costs more
        // FLOPs than DINO, and more than its λ = 0 arm.
        #expect(rows[0].flopRatio < 1 && rows[0].flopRatio < rows[1].flopRatio)
        // One batch feeds both: a pair whose recipes differ is refused, naming both.
        #expect(throws: HarnessError.self) {
            try SpeedComparison.measurePair(method: .selfpatch, baseline: .mae, budget: budget, grids: [8], batch: 2, warmup: 0,
                                            rounds: 2, threads: 1)
        }
    }
}
