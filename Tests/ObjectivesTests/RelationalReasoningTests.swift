import Datasets
import Foundation
import Layers
import Objectives
import TensorCore
import Testing
import TestSupport

/// Relational Reasoning and Spatial Reasoning: pair construction (positives, rolled negatives,
/// the shift rule, counts), the losses' gradients in Double, the patch sampler (non-overlap,
/// the code's rule, targets, canvases), and a whole step (every parameter trains, the state
/// given is not changed, the BN statistics move in the next state).
@Suite struct RelationalReasoningTests {
    static let encoder = ViTConfig(imageSize: 16, patchSize: 4, dimension: 8, depth: 1, heads: 2, positionEmbedding: .sinCos)

    @Test func pairsAreAllViewPairsWithRolledNegatives() {
        let pairs = RelationPairs(views: 3, batch: 4)
        #expect(pairs.count == 3 * 2 * 4, "K(K − 1)/2 view pairs, B positives and B negatives each")
        #expect(pairs.shifts.map { [$0.i, $0.j, $0.shift] } == [[0, 1, 1], [0, 2, 2], [1, 2, 3]])
        #expect(pairs.positive == Array([[Bool](repeating: true, count: 4), [Bool](repeating: false, count: 4)].joined()).repeated(3))
        // (0, 1): positives pair b with b; negatives torch.roll by 1: b with b − 1.
        #expect(Array(pairs.left[0..<8]) == [0, 1, 2, 3, 0, 1, 2, 3])
        #expect(Array(pairs.right[0..<8]) == [4, 5, 6, 7, 7, 4, 5, 6])
        // (1, 2) with shift 3: b with b − 3 mod 4.
        #expect(Array(pairs.left[16..<24]) == [4, 5, 6, 7, 4, 5, 6, 7])
        #expect(Array(pairs.right[16..<24]) == [8, 9, 10, 11, 9, 10, 11, 8])
        // The shift returns to 1 once it reaches B (K = 4, B = 3: 1, 2, 1, 2, 1, 2); no negative
        // ever pairs an image with itself.
        let reset = RelationPairs(views: 4, batch: 3)
        #expect(reset.shifts.map(\.shift) == [1, 2, 1, 2, 1, 2] && reset.count == 36)
        for r in 0..<reset.count where !reset.positive[r] { #expect(reset.left[r] % 3 != reset.right[r] % 3) }
        for r in 0..<reset.count where reset.positive[r] { #expect(reset.left[r] % 3 == reset.right[r] % 3) }
    }

    @Test func bceAndFocalLossGradients() {
        let z = randomTensor([7, 1], seed: 1, scale: 3)
        let y = Tensor([1, 0, 1, 0, 1, 0, 0.5], shape: [7, 1], dtype: .float64)
        #expect(gradCheck([z]) { $0[0].binaryCrossEntropy(logitTargets: y) }.maxError < 1e-6)
        let focal = gradCheck([z]) { RelationalReasoning.focalLoss(logits: $0[0], targets: y, gamma: 2, alpha: 0.5) }
        #expect(focal.maxError < 1e-6, "\(focal)")
        // Stable for large logits, and equal to the textbook formula.
        let big = Tensor([80, -80, 0.3], shape: [3], dtype: .float64).binaryCrossEntropy(logitTargets: Tensor([0, 1, 1], shape: [3], dtype: .float64))
        #expect(abs(big.doubles[0] - 80) < 1e-12 && abs(big.doubles[1] - 80) < 1e-12)
        #expect(abs(big.doubles[2] - Foundation.log(1 + Foundation.exp(-0.3))) < 1e-14)
    }

    @Test func relationAndSpatialLossGradientsThroughTheHead() {
        var rng = RandomStream(seed: 2)
        var rrConfig = RelationalReasoning.Config()
        (rrConfig.views, rrConfig.hidden) = (3, 6)
        let rr = RelationalReasoning(encoder: Self.encoder, config: rrConfig, dtype: .float64, rng: &rng)
        let f = randomTensor([3 * 4, 8], seed: 3)
        let state = rr.initialState()
        let r = gradCheck([f] + rr.head.parameters) { rr.relationLoss(features: $0[0], views: 3, state: state).loss }
        #expect(r.maxError < 1e-6, "RR: \(r)")
        var srConfig = SpatialReasoning.Config()
        (srConfig.views, srConfig.patches, srConfig.patchSize, srConfig.hidden) = (2, 3, 4, 6)
        let sr = SpatialReasoning(encoder: Self.encoder, config: srConfig, dtype: .float64, rng: &rng)
        let images = randomTensor([2 * 4, 8], seed: 4), patches = randomTensor([3 * 4, 8], seed: 5)
        let t = Tensor((0..<24).map { Double($0 % 5) / 12 }, shape: [12, 2], dtype: .float64)
        let s = gradCheck([images, patches] + sr.head.parameters) {
            sr.spatialLoss(imageFeatures: $0[0], views: 2, patchFeatures: $0[1], patchTargets: t, state: sr.initialState()).loss
        }
        #expect(s.maxError < 1e-6, "SR: \(s)")
    }

    @Test func sampledPatchesNeverOverlap() {
        var rng = RandomStream(seed: 5)
        var codeOverlaps = 0
        for _ in 0..<2000 {
            let placed = SpatialReasoning.samplePlacements(count: 3, side: 32, patchSize: 12, rule: .pairwise, rng: &rng)
            for a in 0..<3 {
                for b in (a + 1)..<3 {
                    let apart = abs(placed[a].row - placed[b].row) >= 12 || abs(placed[a].column - placed[b].column) >= 12
                    #expect(apart, "patches \(a) and \(b) overlap: \(placed)")
                }
            }
            let all = placed.flatMap { [$0.row, $0.column] }
            #expect(Set(all).count == 6 && all.allSatisfy { $0 >= 0 && $0 < 20 }, "2P distinct positions of 0..<S − ps")
            #expect(placed.allSatisfy { $0.canvasRow != $0.canvasColumn && (0..<20).contains($0.canvasRow) && (0..<20).contains($0.canvasColumn) })
            // The code's rule: only |pos0 − pos1| and |pos2 − pos3| together; patches often overlap.
            let code = SpatialReasoning.samplePlacements(count: 3, side: 32, patchSize: 12, rule: .code, rng: &rng)
            let pos = code.flatMap { [$0.row, $0.column] }
            #expect(!(abs(pos[0] - pos[1]) < 12 && abs(pos[2] - pos[3]) < 12))
            if SpatialReasoning.overlaps(pos, patchSize: 12, rule: .pairwise) { codeOverlaps += 1 }
        }
        #expect(codeOverlaps > 500, "the code's check lets overlapping patches through (\(codeOverlaps) of 2000)")
        print("the code's overlap rule: \(codeOverlaps) of 2000 placements overlap")
    }

    /// The README run's placements: standard mode with the code's check lets most cuts overlap.
    @Test func theCodesCheckInStandardModeLetsMostCutsOverlap() {
        var rng = RandomStream(seed: 7)
        var overlapping = 0
        for _ in 0..<2000 {
            let placed = SpatialReasoning.samplePlacements(count: 3, side: 32, patchSize: 12, rule: .code, mode: .standard, rng: &rng)
            let pos = placed.flatMap { [$0.row, $0.column] }
            #expect(!(abs(pos[0] - pos[1]) < 32 && abs(pos[2] - pos[3]) < 32), "the code's check compares with the cut's extent S")
            #expect(pos.allSatisfy { (0..<53).contains($0) })
            if SpatialReasoning.overlaps(pos, patchSize: 32, rule: .pairwise) { overlapping += 1 }
        }
        #expect(overlapping > 1600, "\(overlapping) of 2000 placements overlap")
        print("standard mode, the code's overlap rule: \(overlapping) of 2000 placements overlap")
    }

    @Test func standardModePatchesAreZoomedCutsThatNeverOverlap() {
        // 32 px, ps 12: the image enlarged to ⌊32/12 · 32⌋ = 85, cuts of 32 at positions 0..<53.
        #expect(SpatialReasoning.zoomedSide(side: 32, patchSize: 12) == 85)
        #expect(SpatialReasoning.sampling(side: 32, patchSize: 12, mode: .standard) == (53, 32))
        #expect(SpatialReasoning.sampling(side: 32, patchSize: 12, mode: .additive) == (20, 12))
        var rng = RandomStream(seed: 6)
        for _ in 0..<500 {
            let placed = SpatialReasoning.samplePlacements(count: 3, side: 32, patchSize: 12, rule: .pairwise, mode: .standard, rng: &rng)
            for a in 0..<3 {
                for b in (a + 1)..<3 {
                    #expect(abs(placed[a].row - placed[b].row) >= 32 || abs(placed[a].column - placed[b].column) >= 32,
                            "cuts \(a) and \(b) overlap in the enlarged image: \(placed)")
                }
            }
            let all = placed.flatMap { [$0.row, $0.column] }
            #expect(Set(all).count == 6 && all.allSatisfy { (0..<53).contains($0) })
            #expect(placed.allSatisfy { $0.canvasRow == 0 && $0.canvasColumn == 0 }, "standard mode draws no canvas corner")
        }
        // Targets: position / 2S (the code's /128 at 64 px).
        let placements = [[PatchPlacement(row: 0, column: 52, canvasRow: 0, canvasColumn: 0),
                           PatchPlacement(row: 40, column: 7, canvasRow: 0, canvasColumn: 0)]]
        #expect(SpatialReasoning.targets(placements, side: 32, patchSize: 12, mode: .standard).doubles
                == [0, Double(Float(52.0 / 64)), Double(Float(40.0 / 64)), Double(Float(7.0 / 64))])
        // A cut of the enlarged image: on a linear ramp v = 3y + x + c bilinear interpolation is
        // exact away from the clamped border, so a pixel (y, x) of the cut at (r, c) must read the
        // ramp at the source point ((r + y + ½)·32/85 − ½, (c + x + ½)·32/85 − ½).
        func rampValue(_ i: Int) -> Double {
            let channel = Double(i / 1024), row = Double((i % 1024) / 32), column = Double(i % 32)
            return channel * 100 + row * 3 + column
        }
        let ramp = Tensor((0..<(2 * 32 * 32)).map(rampValue), shape: [1, 2, 32, 32])
        let cuts = SpatialReasoning.zoomedCrops([ramp, ramp], placements: placements, patchSize: 12).floats
        #expect(cuts.count == 2 * 2 * 32 * 32)
        var largest = 0.0
        for (q, at) in placements[0].enumerated() {
            for channel in 0..<2 {
                for y in 0..<32 {
                    for x in 0..<32 {
                        let sy = (Double(at.row + y) + 0.5) * 32 / 85 - 0.5, sx = (Double(at.column + x) + 0.5) * 32 / 85 - 0.5
                        guard sy >= 0, sx >= 0, sy <= 31, sx <= 31 else { continue }
                        let expected: Double = Double(channel) * 100 + 3 * sy + sx
                        let index: Int = ((q * 2 + channel) * 32 + y) * 32 + x
                        largest = max(largest, abs(Double(cuts[index]) - expected))
                    }
                }
            }
        }
        #expect(largest < 1e-3, "the cut is not the enlarged image at its position (error \(largest))")
    }

    @Test func targetsAndCanvasesFollowTheCode() {
        let placements = [[PatchPlacement(row: 0, column: 19, canvasRow: 3, canvasColumn: 5),
                           PatchPlacement(row: 13, column: 2, canvasRow: 0, canvasColumn: 20)]]
        let t = SpatialReasoning.targets(placements, side: 32, patchSize: 12)
        #expect(t.doubles == [0, Double(Float(19.0 / 20)), Double(Float(13.0 / 20)), Double(Float(2.0 / 20))])
        let src = Tensor((0..<(3 * 32 * 32)).map { Double($0 % 97) + 1 }, shape: [1, 3, 32, 32])
        let c = SpatialReasoning.canvases([src, src], placements: placements, patchSize: 12).floats
        #expect(c.filter { $0 != 0 }.count == 2 * 3 * 144)
        let s = src.floats
        let (canvas0, source0): (Int, Int) = (1024 + 7 * 32 + 11, 1024 + 4 * 32 + 25)     // patch 0, channel 1, offset (4, 6)
        let (canvas1, source1): (Int, Int) = (5 * 1024 + 11 * 32 + 31, 2 * 1024 + 24 * 32 + 13)  // patch 1, channel 2, offset (11, 11)
        #expect(c[canvas0] == s[source0] && c[canvas1] == s[source1])
        // Pair targets: image positives 0, negatives 1, patch positives the signed difference.
        let y = SpatialReasoning.pairTargets(imagePairs: RelationPairs(views: 2, batch: 1), patchPairs: RelationPairs(views: 2, batch: 1),
                                             patchTargets: t).doubles
        #expect(Array(y[0..<6]) == [0, 0, 0, 1, 1, 1] && Array(y[9..<12]) == [1, 1, 1])
        #expect(abs(y[6] - (0 - 13.0 / 20)) < 1e-7 && abs(y[7] - (19.0 / 20 - 2.0 / 20)) < 1e-7 && y[8] == 0)
    }

    /// RR's views are `datamanager.py`'s relationnet transform; SR's patch sources are the whole,
    /// unflipped image as it is (no colour, not normalised), and the patch transform is the
    /// views' colour steps and normalisation, run on each cut.
    @Test func theRecipesFollowTheCode() {
        let recipe = SpatialReasoning.recipe(SpatialReasoning.Config(), size: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        #expect(recipe.views.count == 4 + 3)
        let view = recipe.views[0]
        #expect(view.scale == 0.08...1.0 && view.interpolation == .bilinear && view.flipProbability == 0.5
                && view.jitter == ColorJitterStrength(brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2)
                && view.jitterProbability == 0.8 && view.grayscaleProbability == 0.2 && view.blurProbability == 0)
        #expect(Array(recipe.views[0..<4]) == RelationalReasoning.recipe(views: 4, size: 32, scale: [0.08, 1], mean: [0.5, 0.5, 0.5],
                                                                         std: [0.25, 0.25, 0.25]).views)
        let source = recipe.views[4]
        #expect(source.flipProbability == 0 && source.scale == 1.0...1.0 && source.ratio == 1.0...1.0 && source.jitter == nil
                && source.grayscaleProbability == 0)
        let pixels = (0..<(3 * 32 * 32)).map { Float($0 % 251) / 250 }
        var rng = RandomStream(seed: 1)
        let (out, geometry) = source.apply(AugmentImage(channels: 3, height: 32, width: 32, pixels: pixels), rng: &rng)
        #expect(geometry.box == CropBox(top: 0, left: 0, height: 32, width: 32) && !geometry.flipped)
        #expect(out.pixels == pixels, "the patch source is the image as it is")

        let transform = SpatialReasoning.patchTransform(size: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        #expect(transform.jitter == view.jitter && transform.jitterProbability == 0.8 && transform.grayscaleProbability == 0.2
                && transform.blurProbability == 0 && transform.solarizeProbability == 0
                && transform.mean == [0.5, 0.5, 0.5] && transform.std == [0.25, 0.25, 0.25])
    }

    /// The code jitters each cut (`patch_transformations(res_im)`), so contrast pivots on the
    /// patch's own mean: a black cut stays black whatever the factor, while the same transform on
    /// the whole image first would lift it towards the image's mean. A textured cut does change,
    /// so the transform ran. Both modes.
    @Test func patchesAreColouredAfterTheCut() {
        // Left half black, right half a ramp in (0.2, 1].
        let side = 32
        let pixels = (0..<(3 * side * side)).map { i -> Float in
            let column = i % side, row = (i / side) % side
            return column < 16 ? 0 : 0.2 + 0.8 * Float(row * 16 + column - 16) / 512
        }
        let image = Tensor(floats: pixels, shape: [1, 3, side, side])
        var contrast = ViewRecipe(size: side, scale: 1...1)
        contrast.jitter = ColorJitterStrength(brightness: 0, contrast: 0.9, saturation: 0, hue: 0)
        (contrast.jitterProbability, contrast.grayscaleProbability, contrast.mean, contrast.std) = (1, 0, [0, 0, 0], [1, 1, 1])
        let black = PatchPlacement(row: 10, column: 2, canvasRow: 0, canvasColumn: 0)
        let ramp = PatchPlacement(row: 10, column: 18, canvasRow: 0, canvasColumn: 0)
        var rng = RandomStream(seed: 5)
        let cuts = SpatialReasoning.canvases([image, image], placements: [[black, ramp]], patchSize: 12) {
            contrast.colour($0, rng: &rng)
        }.floats
        let plane = 3 * side * side
        #expect(cuts[0..<plane].allSatisfy { $0 == 0 }, "a black cut jittered on its own stays black")
        let untouched = SpatialReasoning.canvases([image, image], placements: [[black, ramp]], patchSize: 12).floats
        #expect(cuts[plane...] != untouched[plane...], "the textured cut was not transformed")
        // Lowering the contrast of the whole image first (the old order) lifts the black cut.
        let whole = Augment.adjustContrast(AugmentImage(channels: 3, height: side, width: side, pixels: pixels), factor: 0.5)
        let lifted = SpatialReasoning.canvases([Tensor(floats: whole.pixels, shape: [1, 3, side, side])], placements: [[black]], patchSize: 12)
        #expect(lifted.floats.contains { $0 != 0 }, "the whole-image order should differ here, or the test shows nothing")

        let zoomed = SpatialReasoning.zoomedCrops([image], placements: [[PatchPlacement(row: 0, column: 0, canvasRow: 0, canvasColumn: 0)]],
                                                  patchSize: 12) { contrast.colour($0, rng: &rng) }.floats
        let plain = SpatialReasoning.zoomedCrops([image], placements: [[PatchPlacement(row: 0, column: 0, canvasRow: 0, canvasColumn: 0)]],
                                                 patchSize: 12).floats
        #expect(zoomed.allSatisfy { $0 == 0 } && plain.allSatisfy { $0 == 0 }, "a black zoomed cut stays black")
    }

    static func batch(views: Int, b: Int, seed: UInt64) -> TrainingBatch {
        var rng = RandomStream(seed: seed)
        return TrainingBatch(views: (0..<views).map { _ in
            TrainingBatch.View(images: Tensor((0..<(b * 3 * 16 * 16)).map { _ in rng.nextNormal() }, shape: [b, 3, 16, 16]),
                               geometry: (0..<b).map { _ in CropGeometry(box: CropBox(top: 0, left: 0, height: 16, width: 16), flipped: false, outputSize: 16) })
        })
    }

    @Test func aStepTrainsEveryParameterAndReturnsTheNextStatistics() {
        var rng = RandomStream(seed: 7)
        var srConfig = SpatialReasoning.Config()
        (srConfig.views, srConfig.patches, srConfig.patchSize, srConfig.hidden) = (2, 2, 6, 16)
        var rrConfig = RelationalReasoning.Config()
        (rrConfig.views, rrConfig.hidden) = (3, 16)
        let objectives: [(Objective, Int)] = [(RelationalReasoning(encoder: Self.encoder, config: rrConfig, rng: &rng), 3),
                                              (SpatialReasoning(encoder: Self.encoder, config: srConfig, rng: &rng), 4)]
        for (objective, views) in objectives {
            let state = objective.initialState()
            #expect(state.tensors.map(\.0) == ["relation_module.bn1.running_mean", "relation_module.bn1.running_var"])
            let before = state.tensors.map { $0.1.floats }
            var stream = RandomStream(seed: 3)
            let out = objective.step(Self.batch(views: views, b: 4, seed: 9), context: StepContext(step: 0, stepsPerEpoch: 1, totalSteps: 1),
                                     state: state, rng: &stream)
            out.loss.backward()
            #expect(out.loss.item.isFinite)
            for (key, p) in objective.namedParameters() {
                #expect(p.grad != nil && (0..<p.count).allSatisfy { p.grad![$0].isFinite }, "\(objective.methodName): \(key) has no finite gradient")
            }
            #expect(state.tensors.map { $0.1.floats } == before, "the given state is not changed")
            let next = out.nextState()
            #expect(next.tensors.map(\.0) == state.tensors.map(\.0) && next.tensors[0].1.floats != before[0])
            #expect(objective.adam == AdamSettings(beta1: 0.9, beta2: 0.999, eps: 1e-8))
            let plan = OptimizerPlan(learningRate: [0.5, 0.7], weightDecay: 0.05, batchSize: 4,
                                     context: StepContext(step: 0, stepsPerEpoch: 2, totalSteps: 2))
            let groups = objective.parameterGroups(plan)
            #expect(groups.count == 1 && groups[0].learningRate == [1e-3, 1e-3] && groups[0].weightDecay == [0, 0]
                    && groups[0].keys == objective.namedParameters().map(\.0), "the authors' Adam: constant 1e-3, no decay")
        }
    }
}

extension Array {
    func repeated(_ n: Int) -> [Element] { (0..<n).flatMap { _ in self } }
}
