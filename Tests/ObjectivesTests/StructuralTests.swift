import Layers
import Objectives
import TensorCore
import Testing
import TestSupport

/// What the spec says each objective must (not) see, checked by perturbation.
@Suite struct StructuralTests {
    static let maeEncoder = ViTConfig(imageSize: 16, patchSize: 4, dimension: 32, depth: 2, heads: 2, positionEmbedding: .sinCos)
    static let lomarEncoder = ViTConfig(imageSize: 32, patchSize: 4, dimension: 32, depth: 2, heads: 2, positionEmbedding: .none)

    func randomImages(_ b: Int, _ size: Int, seed: UInt64) -> Tensor {
        var rng = RandomStream(seed: seed)
        return Tensor((0..<(b * 3 * size * size)).map { _ in rng.nextNormal() }, shape: [b, 3, size, size])
    }

    func smallMAE() -> MAE {
        var config = MAE.Config()
        config.decoderDimension = 16
        config.decoderDepth = 1
        config.decoderHeads = 2
        var rng = RandomStream(seed: 1)
        return MAE(encoder: Self.maeEncoder, config: config, rng: &rng)
    }

    func smallLoMaR(_ assignment: LoMaR.WindowAssignment = .perImage) -> LoMaR {
        var config = LoMaR.Config()
        config.windowSize = 4
        config.windowCount = 4
        config.windowAssignment = assignment
        var rng = RandomStream(seed: 2)
        return LoMaR(encoder: Self.lomarEncoder, config: config, rng: &rng)
    }

    @Test func maskedTokensNeverReachMAEEncoder() {
        let mae = smallMAE()
        var rng = RandomStream(seed: 3)
        let mask = PatchMask.random(batch: 2, tokens: 16, ratio: 0.75, rng: &rng)
        #expect(mask.keep.allSatisfy { $0.count == 4 } && mask.drop.allSatisfy { $0.count == 12 })
        let images = randomImages(2, 16, seed: 4)
        let before = mae.encodeVisible(images: images, mask: mask)
        #expect(before.shape == [2, 5, 32], "encoder sees CLS + 4 visible tokens, got \(before.shape)")
        // Overwrite every pixel of every removed patch: the encoder output must not move a bit.
        let perturbed = images.copy()
        for b in 0..<2 { for t in mask.drop[b] { for c in 0..<3 { for i in 0..<4 { for j in 0..<4 {
            perturbed.storage[((b * 3 + c) * 16 + (t / 4) * 4 + i) * 16 + (t % 4) * 4 + j] = 100
        } } } } }
        #expect(mae.encodeVisible(images: perturbed, mask: mask).floats == before.floats)
        // …while a visible patch does move it (the perturbation test can fail).
        let visible = images.copy()
        let t = mask.keep[0][0]
        visible.storage[(t / 4) * 4 * 16 + (t % 4) * 4] = 100
        #expect(mae.encodeVisible(images: visible, mask: mask).floats != before.floats)
    }

    @Test func maeLossCountsRemovedPatchesOnly() {
        let mae = smallMAE()
        var rng = RandomStream(seed: 5)
        let mask = PatchMask.random(batch: 2, tokens: 16, ratio: 0.75, rng: &rng)
        let prediction = mae.reconstruct(images: randomImages(2, 16, seed: 6), mask: mask).detached().copy(requiresGrad: true)
        let target = PixelTargets.normalizedPatches(randomImages(2, 16, seed: 6), patch: 4)
        PixelTargets.maskedLoss(prediction: prediction, target: target, removed: mask.removedTensor()).backward()
        let g = prediction.grad!
        for b in 0..<2 {
            for t in mask.keep[b] { #expect((0..<48).allSatisfy { g[(b * 16 + t) * 48 + $0] == 0 }) }
            for t in mask.drop[b] { #expect((0..<48).contains { g[(b * 16 + t) * 48 + $0] != 0 }) }
        }
    }

    @Test func normPixTargetUsesUnbiasedVariance() {
        let images = randomImages(1, 4, seed: 7)
        let t = PixelTargets.normalizedPatches(images, patch: 4).doubles
        let mean = t.reduce(0, +) / 48
        let unbiased = t.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 47
        #expect(abs(mean) < 1e-6)
        #expect(abs(unbiased - 1) < 1e-4, "normalised patch has unbiased variance \(unbiased)")
    }

    @Test func lomarLossIgnoresVisibleTokens() {
        let lomar = smallLoMaR()
        var rng = RandomStream(seed: 8)
        let w = lomar.sampleWindows(batch: 2, rng: &rng)
        let images = randomImages(2, 32, seed: 9)
        let (prediction, target, removed) = lomar.forward(images: images, windows: w)
        let leaf = prediction.detached().copy(requiresGrad: true)
        let l = PixelTargets.maskedLoss(prediction: leaf, target: target, removed: removed)
        #expect(l.item == lomar.loss(images: images, windows: w).loss.item, "the objective's loss is this masked loss")
        l.backward()
        let g = leaf.grad!, p = 48
        for r in 0..<w.removed.count {
            for i in 0..<16 {
                let touched = (0..<p).contains { g[(r * 16 + i) * p + $0] != 0 }
                #expect(touched == w.removed[r].contains(i), "row \(r) token \(i): removed \(w.removed[r].contains(i))")
            }
        }
    }

    @Test func pixelOutsideEveryWindowDoesNotChangeLoMaRLoss() {
        let lomar = smallLoMaR()
        let w = LoMaR.Windows(tops: [0, 1], lefts: [2, 0], removed: (0..<4).map { _ in [0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 15] })
        let images = randomImages(2, 32, seed: 10)
        let base = lomar.loss(images: images, windows: w).loss.item
        // Patch (row 7, col 7) lies outside both windows (rows 0–4, cols 0–5): pixel (28, 28).
        let outside = images.copy()
        outside.storage[(0 * 3 + 1) * 1024 + 29 * 32 + 30] += 50
        #expect(lomar.loss(images: outside, windows: w).loss.item == base)
        // A pixel inside a window does change it.
        let inside = images.copy()
        inside.storage[(0 * 3 + 1) * 1024 + 1 * 32 + 9] += 50
        #expect(lomar.loss(images: inside, windows: w).loss.item != base)
    }

    @Test func windowsAndMasksFollowTheSpec() {
        let lomar = smallLoMaR()
        var rng = RandomStream(seed: 11)
        let w = lomar.sampleWindows(batch: 3, rng: &rng)
        #expect(w.tops.count == 4 && Set(w.tops).count == 4 && Set(w.lefts).count == 4)
        #expect(w.tops.allSatisfy { $0 >= 0 && $0 <= 4 } && w.lefts.allSatisfy { $0 >= 0 && $0 <= 4 })
        #expect(w.removed.count == 12 && w.removed.allSatisfy { $0.count == 12 && Set($0).count == 12 })
        // ws 7 on an 8×8 grid leaves 2 positions per axis: the official code silently gives 2 windows.
        var config = LoMaR.Config()
        config.windowSize = 7
        var r2 = RandomStream(seed: 0)
        let big = LoMaR(encoder: Self.lomarEncoder, config: config, rng: &r2)
        #expect(big.sampleWindows(batch: 1, rng: &r2).tops.count == 2)
    }

    @Test func officialCodeGivesEachImageOneWindowLocation() {
        // Spec §5 LoMaR 2: with B % n_w == 0 the official reshape pairs image b with window b mod n_w only.
        let official = smallLoMaR(.officialCode), paper = smallLoMaR(.perImage)
        let b = 4, nw = 4
        let officialWindows = (0..<(b * nw)).map { official.assignment(row: $0, batch: b, windows: nw) }
        for image in 0..<b { #expect(Set(officialWindows.filter { $0.image == image }.map(\.window)).count == 1) }
        let paperWindows = (0..<(b * nw)).map { paper.assignment(row: $0, batch: b, windows: nw) }
        for image in 0..<b { #expect(Set(paperWindows.filter { $0.image == image }.map(\.window)) == Set(0..<nw)) }
    }

    @Test func piecewiseBucketsMatchIRPE() {
        let expected = [0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 7: 3, 14: 3, 30: 3, -1: -1, -3: -2, -5: -3]
        for (delta, bucket) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(RelativePositionBuckets.piecewise(delta) == bucket, "Δ \(delta)")
        }
        let b = RelativePositionBuckets.buckets(grid: 8)
        #expect(b.count == 65 * 65 && b.allSatisfy { $0 >= 0 && $0 < 50 } && b[0] == 49 && b[1] == 49 && b[65] == 49)
        #expect(b[1 * 65 + 1] == 24, "zero offset is the centre bucket (3·7 + 3)")
    }

    @Test func everyTrainableParameterGetsAFiniteGradient() {
        for objective in [smallMAE() as any SingleViewObjective, smallLoMaR() as any SingleViewObjective] {
            var rng = RandomStream(seed: 12)
            let size = objective.encoder.config.imageSize
            objective.loss(images: randomImages(2, size, seed: 13), rng: &rng).loss.backward()
            for (key, p) in objective.namedParameters() {
                let g = p.grad
                #expect(g != nil, "\(objective.methodName): \(key) has no gradient")
                if let g { #expect((0..<g.count).allSatisfy { g[$0].isFinite }, "\(objective.methodName): \(key)") }
            }
        }
    }
}
