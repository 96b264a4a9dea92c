import Foundation
import Layers
import Objectives
import TensorCore
import TestSupport
import Testing

/// RandSAC has no official code, so its correctness is shown by properties, each of which
/// fails on a broken mask or order (issue 16): checked through the real forward in Double,
/// per sample, for several sampled serializations.
@Suite struct RandSACTests {
    /// 16 px, patch 4: a 4 × 4 grid.
    static func model(skipMix: Bool = true, tokenPatch: Int = 4, seed: UInt64 = 1) -> RandSAC {
        var encoder = ViTConfig(imageSize: 16, patchSize: tokenPatch, dimension: 16, depth: 2, heads: 2, positionEmbedding: .sinCos)
        encoder.clsToken = false
        var config = RandSAC.Config()
        (config.decoderDimension, config.decoderDepth, config.decoderHeads, config.skipMix) = (16, 2, 2, skipMix)
        config.serialization = SerializationRule(segments: .square, squareSize: 1, order: .random)
        var rng = RandomStream(seed: seed)
        return RandSAC(encoder: encoder, config: config, targetPatch: 4, dtype: .float64, rng: &rng)
    }

    static func images(_ b: Int, side: Int = 16, seed: UInt64) -> Tensor {
        var rng = RandomStream(seed: seed)
        return Tensor((0..<(b * 3 * side * side)).map { _ in rng.nextNormal() }, shape: [b, 3, side, side], dtype: .float64)
    }

    /// Rules whose serializations the property tests sample (4 × 4 grid).
    static let rules: [SerializationRule] = [
        SerializationRule(segments: .square, squareSize: 1, order: .random),
        SerializationRule(segments: .square, squareSize: 1, partitions: 4, order: .random),
        SerializationRule(segments: .square, squareSize: 2, order: .random),
        SerializationRule(segments: .blob, blobCount: 5, order: .random),
        SerializationRule(segments: .blob, blobCount: 6, partitions: 3, order: .random),
        SerializationRule(segments: .shuffled, blobCount: 4, order: .random),
        SerializationRule(segments: .square, squareSize: 1, order: .raster),
    ]

    /// images with the pixels of token `token` (4 × 4 patch, all channels) of sample `b` changed.
    static func perturbed(_ images: Tensor, sample b: Int, token: Int, grid g: Int = 4, patch p: Int = 4) -> Tensor {
        var v = images.doubles
        let (c, side) = (images.shape[1], images.shape[2])
        let (top, left) = ((token / g) * p, (token % g) * p)
        for ch in 0..<c { for y in top..<(top + p) { for x in left..<(left + p) {
            v[((b * c + ch) * side + y) * side + x] += 0.75 + 0.1 * Double(x - y)
        } } }
        return Tensor(v, shape: images.shape, dtype: images.dtype)
    }

    static func row(_ t: Tensor, _ b: Int, _ i: Int) -> [Double] {
        let (n, w) = (t.shape[1], t.shape[2])
        return Array(t.doubles[((b * n + i) * w)..<((b * n + i + 1) * w)])
    }

    @Test(arguments: 0..<rules.count)
    func aPredictionSeesExactlyTheTokensOfEarlierSegments(rule index: Int) {
        let model = Self.model()
        var rng = RandomStream(seed: UInt64(40 + index))
        let orders = (0..<2).map { _ in Self.rules[index].sample(grid: 4, rng: &rng) }
        let images = Self.images(2, seed: UInt64(index))
        let masks = SerializationMasks(orders, dtype: .float64)
        let base = Tensor.withoutGrad { model.predict(images: images, masks: masks) }
        for b in 0..<2 {
            let rank = orders[b].rank
            for j in 0..<16 {
                let moved = Tensor.withoutGrad { model.predict(images: Self.perturbed(images, sample: b, token: j), masks: masks) }
                for i in 0..<16 where rank[i] >= 1 {
                    let changed = Self.row(moved, b, i) != Self.row(base, b, i)
                    #expect(changed == (rank[j] < rank[i]),
                            "rule \(index) sample \(b): token \(i) (segment rank \(rank[i])) \(changed ? "changed" : "did not change") when token \(j) (rank \(rank[j])) changed")
                }
                for i in 0..<16 { #expect(Self.row(moved, 1 - b, i) == Self.row(base, 1 - b, i), "samples are independent") }
            }
        }
    }

    /// The encoder half of the same property: token i's output at every block changes when
    /// token j's pixels change iff rⱼ ≤ rᵢ (block-causal, full attention inside a segment). The
    /// prediction property cannot see this: a query reads every earlier token's memory directly,
    /// so a strict encoder mask, or the memory mask passed to the encoder, would keep it true.
    @Test(arguments: [0, 2, 4, 5])
    func anEncoderTokenSeesExactlyItsOwnAndEarlierSegments(rule index: Int) {
        let model = Self.model()
        var rng = RandomStream(seed: UInt64(60 + index))
        let orders = (0..<2).map { _ in Self.rules[index].sample(grid: 4, rng: &rng) }
        let images = Self.images(2, seed: UInt64(70 + index))
        let masks = SerializationMasks(orders, dtype: .float64)
        let base = Tensor.withoutGrad { model.encode(images: images, masks: masks) }
        #expect(base.count == 2)
        for b in 0..<2 {
            let rank = orders[b].rank
            for j in 0..<16 {
                let moved = Tensor.withoutGrad { model.encode(images: Self.perturbed(images, sample: b, token: j), masks: masks) }
                for (layer, (m, o)) in zip(moved, base).enumerated() { for i in 0..<16 {
                    let changed = Self.row(m, b, i) != Self.row(o, b, i)
                    #expect(changed == (rank[j] <= rank[i]),
                            "rule \(index) sample \(b) block \(layer): token \(i) (rank \(rank[i])) \(changed ? "changed" : "did not change") when token \(j) (rank \(rank[j])) changed")
                } }
            }
        }
    }

    /// `loss(images:rng:)` draws one order per image from the stream: the same loss as the eight
    /// orders drawn from a copy of it, and they are pairwise different (a batch sharing one
    /// order would give another loss, checked last so that the test can fail).
    @Test func theTrainingLossDrawsAnOrderPerImage() {
        let model = Self.model(seed: 31)
        let images = Self.images(8, seed: 32)
        var rng = RandomStream(seed: 33), copy = rng
        let drawn = model.loss(images: images, rng: &rng).loss.item
        let orders = (0..<8).map { _ in model.config.serialization.sample(grid: 4, rng: &copy) }
        #expect(rng == copy, "one serialization per image and nothing else is drawn")
        for a in 0..<8 { for b in (a + 1)..<8 { #expect(orders[a] != orders[b], "images \(a) and \(b) share an order") } }
        #expect(drawn == model.loss(images: images, serializations: orders).loss.item)
        #expect(drawn != model.loss(images: images, serializations: Array(repeating: orders[0], count: 8)).loss.item)
    }

    @Test func theFirstSegmentIsNeverPredictedAndTheLossAveragesTheRest() {
        let model = Self.model()
        var rng = RandomStream(seed: 5)
        let orders = (0..<2).map { _ in Self.rules[3].sample(grid: 4, rng: &rng) }
        let images = Self.images(2, seed: 6)
        let masks = SerializationMasks(orders, dtype: .float64)
        #expect(masks.predicted.doubles == orders.flatMap { $0.rank.map { $0 >= 1 ? 1.0 : 0.0 } })
        let prediction = model.predict(images: images, masks: masks), target = model.targets(images)
        var sum = 0.0, count = 0.0
        for b in 0..<2 { for i in 0..<16 where orders[b].rank[i] >= 1 {
            let d = zip(Self.row(prediction, b, i), Self.row(target, b, i)).map { ($0 - $1) * ($0 - $1) }
            sum += d.reduce(0, +) / Double(d.count)
            count += 1
        } }
        #expect(abs(model.loss(images: images, serializations: orders).loss.item - sum / count) < 1e-12)
    }

    @Test func theMasksFollowTheRanks() {
        var rng = RandomStream(seed: 8)
        let s = Self.rules[4].sample(grid: 4, rng: &rng)
        let masks = SerializationMasks([s], dtype: .float64)
        let (enc, dec, mem) = (masks.encoder.doubles, masks.decoder.doubles, masks.memory.doubles)
        #expect(masks.encoder.shape == [16, 16], "one serialization gives one shared mask")
        for i in 0..<16 { for j in 0..<16 {
            let (ri, rj) = (s.rank[i], s.rank[j])
            #expect((enc[i * 16 + j] == 0) == (rj <= ri), "encoder: block-causal, full inside a segment")
            #expect((mem[i * 16 + j] == 0) == (ri == 0 ? rj == 0 : rj < ri), "memory: earlier segments only")
            // Parallel prediction: the queries of one target segment see each other.
            #expect((dec[i * 16 + j] == 0) == (ri == 0 ? i == j : (rj >= 1 && rj <= ri)), "decoder: block-causal over targets")
        } }
    }

    @Test func squaresAreBlocksAndHierarchicalOrdersVisitOnePartitionAtATime() {
        var rng = RandomStream(seed: 9)
        let rule = SerializationRule(segments: .square, squareSize: 2, partitions: 4, order: .random)
        var seen = Set<[Int]>()
        for _ in 0..<20 {
            let s = rule.sample(grid: 8, rng: &rng)
            seen.insert(s.rank)
            #expect(s.segmentCount == 16)
            for segment in s.segments {
                let rows = Set(segment.map { $0 / 8 }), cols = Set(segment.map { $0 % 8 })
                #expect(segment.count == 4 && rows.count == 2 && cols.count == 2 && rows.min()! % 2 == 0 && cols.min()! % 2 == 0)
            }
            // Ranks 4q ..< 4q + 4 lie in one quadrant.
            for q in 0..<4 {
                let quadrants = Set((0..<64).filter { s.rank[$0] / 4 == q }.map { ($0 / 8 / 4) * 2 + ($0 % 8) / 4 })
                #expect(quadrants.count == 1, "partition \(q) of the order spans quadrants \(quadrants.sorted())")
            }
        }
        #expect(seen.count == 20, "the order is drawn anew per sample")
    }

    @Test func rasterAndRandomOrdersDifferOnlyInTheOrder() {
        for m in [1, 2, 4] {
            var rng = RandomStream(seed: UInt64(m))
            let raster = SerializationRule(segments: .square, squareSize: m, order: .raster).sample(grid: 8, rng: &rng)
            let random = SerializationRule(segments: .square, squareSize: m, order: .random).sample(grid: 8, rng: &rng)
            #expect(Set(raster.segments) == Set(random.segments), "M = \(m): the same segments")
            #expect(raster.segments.map { $0[0] } == raster.segments.map { $0[0] }.sorted(), "raster: by first token")
            #expect(random.rank != raster.rank, "M = \(m): a random order is not the raster one")
        }
    }

    /// The 4-connected pieces of `nodes` on a g × g grid.
    static func pieces(_ nodes: [Int], grid g: Int) -> Int {
        graphPieces(nodes) { t in [t >= g ? t - g : -1, t + g < g * g ? t + g : -1, t % g > 0 ? t - 1 : -1, t % g < g - 1 ? t + 1 : -1] }
    }

    /// The connected pieces of `nodes` under `neighbours`.
    static func graphPieces(_ nodes: [Int], neighbours: (Int) -> [Int]) -> Int {
        var left = nodes, count = 0
        while let start = left.first {
            var stack = [start]
            left.removeFirst()
            while let t = stack.popLast() {
                for u in neighbours(t) { if let k = left.firstIndex(of: u) { left.remove(at: k); stack.append(u) } }
            }
            count += 1
        }
        return count
    }

    @Test func blobsAreExactlyKConnectedAndShuffledSegmentsKeepTheirSizes() {
        for k in [3, 4, 5, 7, 9, 11, 16] {
            var a = RandomStream(seed: UInt64(100 + k))
            for _ in 0..<50 {
                var b = a
                let blob = SerializationRule(segments: .blob, blobCount: k, order: .random).sample(grid: 8, rng: &a)
                let shuffled = SerializationRule(segments: .shuffled, blobCount: k, order: .random).sample(grid: 8, rng: &b)
                #expect(blob.segmentCount == k && shuffled.segmentCount == k)
                #expect(blob.segments.map(\.count).sorted() == shuffled.segments.map(\.count).sorted(), "K = \(k): blob sizes kept")
                #expect(blob.segments.allSatisfy { Self.pieces($0, grid: 8) == 1 }, "K = \(k): every blob is 4-connected")
                // Shuffling tears the blobs apart (one segment of all 64 tokens aside, never here).
                #expect(shuffled.segments.contains { Self.pieces($0, grid: 8) > 1 }, "K = \(k): shuffled segments are not blobs")
            }
        }
    }

    /// Blob hierarchies (the paper's 11 → 5, 7 → 3, 16 → 4): the ranks of one partition are
    /// consecutive, there are P partitions (P − 1 where two centres coincide, rare), each
    /// connected over the segments' adjacency, and the order is not flat: a random order of the
    /// same segments breaks the partitions almost always.
    @Test(arguments: [(11, 5), (7, 3), (16, 4)])
    func blobHierarchiesVisitOnePartitionAtATime(blobs k: Int, partitions p: Int) {
        let rule = SerializationRule(segments: .blob, blobCount: k, partitions: p, order: .random)
        var rng = RandomStream(seed: UInt64(200 + k)), shuffle = RandomStream(seed: 9)
        var fewer = 0, flatKeepsThem = 0
        let samples = 200
        for _ in 0..<samples {
            var copy = rng
            let (segmentOf, partitionOf) = rule.segmentation(grid: 8, rng: &copy)
            let s = rule.sample(grid: 8, rng: &rng)
            #expect(s.segmentCount == k)
            // The sample's segments are the segmentation's, renumbered by rank.
            var segmentOfRank = [Int](repeating: -1, count: k)
            for (t, r) in s.rank.enumerated() { segmentOfRank[r] = segmentOf[t] }
            #expect(s.rank.indices.allSatisfy { segmentOfRank[s.rank[$0]] == segmentOf[$0] })
            let used = Set(partitionOf)
            #expect(used.count == p || used.count == p - 1, "\(k) → \(p): \(used.count) partitions")
            if used.count < p { fewer += 1 }
            func consecutive(_ partitionOfRank: [Int]) -> Bool {
                (1..<k).filter { partitionOfRank[$0] != partitionOfRank[$0 - 1] }.count == used.count - 1
            }
            #expect(consecutive(segmentOfRank.map { partitionOf[$0] }), "\(k) → \(p): a partition's ranks are consecutive")
            if consecutive(shuffle.permutation(k).map { partitionOf[$0] }) { flatKeepsThem += 1 }
            for partition in used {
                let tokens = s.rank.indices.filter { partitionOf[segmentOf[$0]] == partition }
                #expect(Self.pieces(tokens, grid: 8) == 1, "\(k) → \(p): partition \(partition) is connected")
            }
        }
        #expect(fewer <= samples / 100)
        #expect(flatKeepsThem <= samples / 5, "a flat order keeps the partitions together \(flatKeepsThem) times in \(samples)")
    }

    /// The paper budget's 14 × 14 grid: 4 × 4 squares end in 2-token-wide ones, and 16 → 4 on
    /// 7 × 7 squares gives quadrants of 4 and 3 squares per side.
    @Test func gridsThatSquaresDoNotDivide() {
        var rng = RandomStream(seed: 11)
        let four = SerializationRule(segments: .square, squareSize: 4, order: .random).sample(grid: 14, rng: &rng)
        let expected: [Int] = [4, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 16]
        #expect(four.segmentCount == 16 && four.segments.map(\.count).sorted() == expected)
        let hierarchical = SerializationRule(segments: .square, squareSize: 2, partitions: 4, order: .random).sample(grid: 14, rng: &rng)
        #expect(hierarchical.segmentCount == 49)
        // Ranks of one partition are consecutive: 16, 12, 12 and 9 squares in some order.
        var sizes: [Int] = [], start = 0
        let partitionOfRank: [Int] = (0..<49).map { r in
            let t: Int = hierarchical.rank.firstIndex(of: r)!
            let row: Int = (t / 14 / 2) * 2 / 7, column: Int = ((t % 14) / 2) * 2 / 7
            return row * 2 + column
        }
        for r in 1...49 where r == 49 || partitionOfRank[r] != partitionOfRank[r - 1] {
            sizes.append(r - start)
            start = r
        }
        #expect(sizes.sorted() == [9, 12, 12, 16], "one partition at a time: \(sizes)")
    }

    @Test func theSameStreamGivesTheSameSerialization() {
        for rule in Self.rules {
            var a = RandomStream(seed: 3), b = RandomStream(seed: 3)
            #expect(rule.sample(grid: 4, rng: &a) == rule.sample(grid: 4, rng: &b) && a == b)
        }
    }

    @Test func badRulesAreNamed() {
        #expect(SerializationRule(segments: .square, squareSize: 8, order: .random).problem(grid: 8) != nil)
        #expect(SerializationRule(segments: .square, squareSize: 2, partitions: 3, order: .random).problem(grid: 8) != nil)
        #expect(SerializationRule(segments: .square, squareSize: 2, partitions: 25, order: .random).problem(grid: 8) != nil)
        #expect(SerializationRule(segments: .blob, blobCount: 5, order: .raster).problem(grid: 8) != nil)
        // A raster order would ignore partitions: refused rather than silently flat.
        #expect(SerializationRule(segments: .square, squareSize: 2, partitions: 4, order: .raster).problem(grid: 8)?
                    .contains("raster order has no partitions") == true)
        #expect(SerializationRule(segments: .square, squareSize: 2, order: .raster).problem(grid: 8) == nil)
        #expect(SerializationRule(segments: .blob, blobCount: 65, order: .random).problem(grid: 8) != nil)
        #expect(SerializationRule(segments: .blob, blobCount: 11, partitions: 5, order: .random).problem(grid: 8) == nil)
    }

    @Test func pixelTokensPredictTheirPatchsNormalisedValues() {
        let pixel = Self.model(tokenPatch: 1), patch = Self.model()
        let images = Self.images(1, seed: 12)
        let perPixel = pixel.targets(images), perPatch = patch.targets(images)
        #expect(perPixel.shape == [1, 256, 3] && perPatch.shape == [1, 16, 48])
        // Pixel (y, x) channel c sits at (i, j, c) of patch (y / 4, x / 4).
        for (y, x, c) in [(0, 0, 0), (5, 6, 1), (15, 3, 2), (9, 12, 0)] {
            let a = perPixel.doubles[(y * 16 + x) * 3 + c]
            let b = perPatch.doubles[((y / 4) * 4 + x / 4) * 48 + ((y % 4) * 4 + x % 4) * 3 + c]
            #expect(a == b)
        }
    }

    /// Every LayerNorm the memory passes through (the skip mix's own and the encoder's final
    /// norm) moved off its ones-and-zeros init, so that a norm serving the wrong block shows.
    static func perturbNorms(_ model: RandSAC, seed: UInt64) {
        var rng = RandomStream(seed: seed)
        for (name, p) in model.namedParameters() where name.hasPrefix("skip_norms.") || name.hasPrefix("norm.") {
            for i in 0..<p.count { p.storage[i] += 0.3 * rng.nextNormal() }
        }
    }

    @Test func gradientsMatchFiniteDifferences() {
        for skipMix in [true, false] {
            let model = Self.model(skipMix: skipMix, seed: 21)
            Self.perturbNorms(model, seed: 24)
            var rng = RandomStream(seed: 22)
            let orders = (0..<2).map { _ in Self.rules[4].sample(grid: 4, rng: &rng) }
            let images = Self.images(2, seed: 23)
            let parameters = model.namedParameters().map(\.1)
            // Skip mix and its norms, the encoder's final norm, memory projection, the decoder's
            // cross-attention, the encoder's first block.
            let checked = model.namedParameters().filter { name, _ in
                ["skip_mix", "skip_norms.0.weight", "skip_norms.0.bias", "norm.weight", "norm.bias", "decoder_embed.weight",
                 "decoder_blocks.0.cross_attn.k.weight", "decoder_blocks.1.attn.qkv.weight",
                 "blocks.0.attn.qkv.weight", "patch_embed.proj.bias"].contains(name) }.map(\.1)
            #expect(checked.count == (skipMix ? 10 : 7))
            let report = gradCheck(checked) { _ in model.loss(images: images, serializations: orders).loss }
            #expect(report.maxError < 1e-6, "skip mix \(skipMix): \(report)")
            for p in parameters { p.zeroGrad() }
        }
    }

    /// The skip mix normalises H¹ … H^{L−1} with RandSAC's own norms and H^L with the encoder's
    /// final norm: a mix that puts all its weight on the last block is the vanilla decoder with the
    /// same weights, and the skip mix's norms are trained and checkpointed (named parameters) but
    /// not in the exported encoder.
    @Test func theSkipMixOwnsItsNormsAndTheEncoderNormSeesTheLastBlock() throws {
        let mixed = Self.model(skipMix: true, seed: 41), vanilla = Self.model(skipMix: false, seed: 41)
        let names = mixed.namedParameters().map(\.0)
        #expect(Array(names[names.firstIndex(of: "skip_mix")!...].prefix(3)) == ["skip_mix", "skip_norms.0.weight", "skip_norms.0.bias"])
        #expect(!vanilla.namedParameters().contains { $0.0.hasPrefix("skip_") })
        let exported = mixed.exportedEncoder(state: mixed.initialState())
        #expect(exported.extras.isEmpty && !exported.encoder.namedParameters().contains { $0.0.hasPrefix("skip_") })
        #expect(exported.encoder.namedParameters().map(\.0) == vanilla.encoder.namedParameters().map(\.0))
        // Same draws: adding the norms moved no other tensor's init.
        for ((a, x), (b, y)) in zip(mixed.namedParameters().filter { !$0.0.hasPrefix("skip_") }, vanilla.namedParameters()) {
            #expect(a == b && x.doubles == y.doubles, "\(a)")
        }
        Self.perturbNorms(mixed, seed: 42)
        for ((_, x), (_, y)) in zip(mixed.encoder.namedParameters(), vanilla.encoder.namedParameters()) {
            for i in 0..<x.count { y.storage[i] = x.storage[i] }
        }
        let logits = try #require(mixed.skipLogits)
        for l in 0..<2 { (logits.storage[2 * l], logits.storage[2 * l + 1]) = (-800, 0) }   // softmax → [0, 1]
        var rng = RandomStream(seed: 43)
        let orders = (0..<2).map { _ in Self.rules[2].sample(grid: 4, rng: &rng) }
        let images = Self.images(2, seed: 44)
        let a = Tensor.withoutGrad { mixed.loss(images: images, serializations: orders).loss.item }
        let b = Tensor.withoutGrad { vanilla.loss(images: images, serializations: orders).loss.item }
        #expect(abs(a - b) < 1e-12, "last-block-only mix \(a) vs vanilla \(b)")
    }

    /// Weight decay on rank ≥ 2 tensors, except the skip mix's logits (a softmax's
    /// parameterisation, not a weight); without the skip mix the budget's groups as they are.
    @Test func theSkipMixLogitsAreNotDecayed() {
        let plan = OptimizerPlan(learningRate: [Double](repeating: 1, count: 4), weightDecay: 0.05, batchSize: 8,
                                 context: StepContext(step: 0, stepsPerEpoch: 2, totalSteps: 4))
        for skipMix in [true, false] {
            let model = Self.model(skipMix: skipMix)
            let params = model.namedParameters()
            let groups = model.parameterGroups(plan)
            #expect(groups.map(\.name) == ["decay", "no_decay"])
            #expect(groups[0].keys == params.filter { $0.1.rank >= 2 && $0.0 != "skip_mix" }.map(\.0))
            #expect(groups[1].keys == params.filter { $0.1.rank < 2 || $0.0 == "skip_mix" }.map(\.0))
            #expect(groups[1].weightDecay.allSatisfy { $0 == 0 } && groups[0].weightDecay.allSatisfy { $0 == 0.05 })
            #expect(groups[1].keys.contains("skip_mix") == skipMix)
        }
    }
}
