import Foundation
import TensorCore

/// RandSAC's serialization of one image's g × g token grid (Hua et al., ICLR'23, §3–4): the
/// tokens are cut into K segments, the segments are put in an order s₁ … s_K, and the model
/// predicts every segment from the ones before it.
///
/// `rank[t]` is the 0-based position in that order of the segment holding token t (tokens in
/// raster order). Everything RandSAC's masks need is a function of `rank`.
public struct Serialization: Equatable, Sendable {
    /// Tokens per side.
    public let grid: Int
    /// Per token (raster index): the rank of its segment, 0 ..< segmentCount.
    public let rank: [Int]
    public let segmentCount: Int

    public init(grid: Int, rank: [Int]) {
        precondition(rank.count == grid * grid, "a serialization needs a rank for each of the \(grid * grid) tokens")
        let count = (rank.max() ?? -1) + 1
        precondition(rank.allSatisfy { $0 >= 0 } && Set(rank).count == count,
                     "segment ranks must be 0 ..< K with every rank used")
        self.grid = grid
        self.rank = rank
        self.segmentCount = count
    }

    /// The tokens of the segment at each rank, each list in raster order.
    public var segments: [[Int]] {
        var s = [[Int]](repeating: [], count: segmentCount)
        for (token, r) in rank.enumerated() { s[r].append(token) }
        return s
    }
}

/// How segments are cut and ordered: one value per RandSAC arm (a budget's `serialization`).
///
/// The paper's supplement, with the blob sampler's ranges, was not available; the blob rule
/// here is ours (Documentation/Objectives/RandSAC.md): K distinct tokens, drawn uniformly,
/// are the Gaussians' means; each Gaussian has its own standard deviation per axis, uniform in
/// [`blobSpread`.0, `blobSpread`.1] × g; every token joins the component of least Mahalanobis
/// distance (ties to the lower index). Components with different spreads wrap around each
/// other, so a segment is then made coherent (`coherent`): it keeps its largest 4-connected
/// piece and every other piece joins the neighbouring segment it shares the most border with.
/// A mean's own token is at distance 0 from its component and above 0 from every other, so no
/// segment starts empty, none loses its largest piece, and K is exact. Blob partitions are the
/// same rule on the segments' centroids, made coherent over the segments' adjacency (two
/// partition centres may coincide and leave fewer partitions, about 5 in 10,000 samples at 11 → 5).
public struct SerializationRule: Codable, Equatable, Sendable {
    public enum Segments: String, Codable, Sendable {
        /// M × M tokens each (M = 1: one token per segment; narrower at the edge of a grid M does
        /// not divide).
        case square
        /// K Gaussian blobs.
        case blob
        /// K segments with the sizes of K blobs, tokens assigned at random (T5's non-coherent control).
        case shuffled
    }

    public enum Order: String, Codable, Sendable {
        /// Segments in raster order of their first token (squares only).
        case raster
        /// A new random order per sample; with partitions, a random order of the partitions and
        /// a random order of the segments inside each (hierarchical serialization).
        case random
    }

    public var segments: Segments
    /// M, tokens per side of a square segment.
    public var squareSize: Int
    /// K, blobs (blob and shuffled).
    public var blobCount: Int
    /// 1: flat. Squares: the grid of segments is cut into this many square partitions, q × q
    /// (4: quadrants, the paper's 16 → 4; equal when q divides the segments per side). Blobs: segments are grouped by the blob rule
    /// applied to their centroids, made coherent over the segments' adjacency (the paper's 11 → 5).
    public var partitions: Int
    public var order: Order
    /// Blob standard deviations per axis, as fractions of the grid side.
    public var blobSpread: [Double]

    public init(segments: Segments, squareSize: Int = 1, blobCount: Int = 1, partitions: Int = 1, order: Order,
                blobSpread: [Double] = [0.1, 0.4]) {
        self.segments = segments
        self.squareSize = squareSize
        self.blobCount = blobCount
        self.partitions = partitions
        self.order = order
        self.blobSpread = blobSpread
    }

    /// Why the rule cannot serialize a g × g grid, nil when it can.
    public func problem(grid g: Int) -> String? {
        if partitions < 1 { return "partitions must be ≥ 1" }
        if order == .raster && partitions != 1 { return "a raster order has no partitions (partitions 1)" }
        switch segments {
        case .square:
            guard squareSize >= 1, squareSize < g else { return "square_size \(squareSize) must be in 1…\(g - 1) on the \(g)×\(g) grid" }
            let side = (g + squareSize - 1) / squareSize, q = Int(Double(partitions).squareRoot().rounded())
            if q * q != partitions || q > side {
                return "partitions \(partitions) must be a square number q² with q ≤ \(side) (segments per side)"
            }
        case .blob, .shuffled:
            if order == .raster { return "blobs have no raster order" }
            if blobCount < 2 || blobCount > g * g { return "blob_count must be in 2…\(g * g)" }
            if partitions > blobCount { return "partitions \(partitions) exceed blob_count \(blobCount)" }
            if segments == .shuffled && partitions != 1 { return "shuffled segments are flat (partitions 1)" }
            if blobSpread.count != 2 || !(blobSpread[0] > 0 && blobSpread[0] <= blobSpread[1]) {
                return "blob_spread must be [low, high] with 0 < low ≤ high"
            }
        }
        return nil
    }

    /// One sample's serialization, every draw from `rng` (the run's mask stream): its
    /// `segmentation`, then the order.
    public func sample(grid g: Int, rng: inout RandomStream) -> Serialization {
        let (segmentOf, partitionOf) = segmentation(grid: g, rng: &rng)
        let k = (segmentOf.max() ?? 0) + 1
        var sequence: [Int] = []
        switch order {
        case .raster:
            sequence = Array(0..<k)
        case .random:
            let p = (partitionOf.max() ?? 0) + 1
            for partition in rng.permutation(p) {
                let members = (0..<k).filter { partitionOf[$0] == partition }
                sequence += rng.permutation(members.count).map { members[$0] }
            }
        }
        var rankOfSegment = [Int](repeating: 0, count: k)
        for (r, s) in sequence.enumerated() { rankOfSegment[s] = r }
        return Serialization(grid: g, rank: segmentOf.map { rankOfSegment[$0] })
    }

    /// The first draws of `sample`: segment id per token (ids in raster order of the segments'
    /// first tokens for squares) and partition id per segment (all 0 when flat).
    public func segmentation(grid g: Int, rng: inout RandomStream) -> (segmentOf: [Int], partitionOf: [Int]) {
        if let problem = problem(grid: g) { preconditionFailure("serialization: \(problem)") }
        let tokens = (0..<(g * g)).map { (Double($0 / g) + 0.5, Double($0 % g) + 0.5) }
        switch segments {
        case .square:
            // A grid that M does not divide ends in narrower squares; a segment grid that q does
            // not divide, in smaller partitions (⌊i·q/side⌋ per axis; equal parts when it does).
            let side = (g + squareSize - 1) / squareSize, q = Int(Double(partitions).squareRoot().rounded())
            let segmentOf = (0..<(g * g)).map { t in (t / g / squareSize) * side + (t % g) / squareSize }
            let partitionOf = (0..<(side * side)).map { s in (s / side * q / side) * q + (s % side) * q / side }
            return (segmentOf, partitionOf)
        case .blob, .shuffled:
            var segmentOf = Self.coherent(blobs(blobCount, points: tokens, grid: g, rng: &rng), count: blobCount,
                                          neighbours: Self.gridNeighbours(g))
            if segments == .shuffled {
                let permutation = rng.permutation(g * g)
                var shuffled = segmentOf
                for (i, t) in permutation.enumerated() { shuffled[t] = segmentOf[i] }
                segmentOf = shuffled
                return (segmentOf, [Int](repeating: 0, count: blobCount))
            }
            guard partitions > 1 else { return (segmentOf, [Int](repeating: 0, count: blobCount)) }
            var centroids = [(Double, Double)](repeating: (0, 0), count: blobCount), sizes = [Double](repeating: 0, count: blobCount)
            for (t, s) in segmentOf.enumerated() {
                centroids[s].0 += tokens[t].0
                centroids[s].1 += tokens[t].1
                sizes[s] += 1
            }
            centroids = zip(centroids, sizes).map { ($0.0 / $1, $0.1 / $1) }
            // Segments are adjacent by the number of 4-neighbour token pairs they share.
            var shared = [[Int]](repeating: [Int](repeating: 0, count: blobCount), count: blobCount)
            for (t, neighbours) in Self.gridNeighbours(g).enumerated() {
                for (u, _) in neighbours where segmentOf[u] != segmentOf[t] { shared[segmentOf[t]][segmentOf[u]] += 1 }
            }
            let segmentNeighbours = shared.map { row in row.indices.filter { row[$0] > 0 }.map { ($0, row[$0]) } }
            let partitionOf = Self.coherent(blobs(partitions, points: centroids, grid: g, rng: &rng), count: partitions,
                                            neighbours: segmentNeighbours)
            return (segmentOf, partitionOf)
        }
    }

    /// Per token of a g × g grid (raster index): its 4-neighbours, each with border weight 1.
    static func gridNeighbours(_ g: Int) -> [[(Int, Int)]] {
        (0..<(g * g)).map { t in
            let (r, c) = (t / g, t % g)
            return [(r > 0, t - g), (c > 0, t - 1), (c < g - 1, t + 1), (r < g - 1, t + g)].filter { $0.0 }.map { ($0.1, 1) }
        }
    }

    /// `labels` (0 ..< count per node) with every label's nodes connected in the graph
    /// `neighbours` (per node: (node, border weight), symmetric and connected). Each label keeps
    /// its largest connected piece (ties: the piece with the lowest node); every other piece, a
    /// fragment, joins the label it shares the most border weight with among the nodes placed so
    /// far (ties: the lower label), in passes until every fragment is placed. A fragment touching
    /// only other fragments waits for a later pass; it joins a connected region, so each label
    /// stays connected, and since no label loses its largest piece, the labels used stay the same.
    /// Arrays in node order only: the result depends on nothing but the inputs.
    static func coherent(_ labels: [Int], count: Int, neighbours: [[(Int, Int)]]) -> [Int] {
        var pieceOf = [Int](repeating: -1, count: labels.count), pieces: [[Int]] = []
        for start in labels.indices where pieceOf[start] < 0 {
            pieceOf[start] = pieces.count
            var members = [start], next = 0
            while next < members.count {
                for (u, _) in neighbours[members[next]] where pieceOf[u] < 0 && labels[u] == labels[start] {
                    pieceOf[u] = pieces.count
                    members.append(u)
                }
                next += 1
            }
            pieces.append(members)
        }
        var largest = [Int?](repeating: nil, count: count)
        for (i, piece) in pieces.enumerated() {
            let l = labels[piece[0]]
            if largest[l].map({ pieces[$0].count < piece.count }) ?? true { largest[l] = i }
        }
        var result = [Int](repeating: -1, count: labels.count)
        for case let i? in largest { for node in pieces[i] { result[node] = labels[pieces[i][0]] } }
        var fragments = pieces.indices.filter { !largest.contains($0) }
        while !fragments.isEmpty {
            let placed = result
            var waiting: [Int] = []
            for i in fragments {
                var border = [Int](repeating: 0, count: count)
                for node in pieces[i] { for (u, w) in neighbours[node] where placed[u] >= 0 { border[placed[u]] += w } }
                guard let best = border.indices.max(by: { border[$0] < border[$1] || (border[$0] == border[$1] && $0 > $1) }),
                      border[best] > 0 else { waiting.append(i); continue }
                for node in pieces[i] { result[node] = best }
            }
            precondition(waiting.count < fragments.count, "coherent: the graph is not connected")
            fragments = waiting
        }
        return result
    }

    /// The blob rule on `points`: per point, the component of least Mahalanobis distance (not yet
    /// coherent); each mean's own point is its component's unless two means coincide.
    private func blobs(_ count: Int, points: [(Double, Double)], grid g: Int, rng: inout RandomStream) -> [Int] {
        let means = rng.permutation(points.count).prefix(count).map { points[$0] }
        let spreads = (0..<count).map { _ in
            (rng.uniform(blobSpread[0], blobSpread[1]) * Double(g), rng.uniform(blobSpread[0], blobSpread[1]) * Double(g))
        }
        return points.map { p in
            var best = 0, bestDistance = Double.infinity
            for k in 0..<count {
                let dr = (p.0 - means[k].0) / spreads[k].0, dc = (p.1 - means[k].1) / spreads[k].1
                let d = dr * dr + dc * dc
                if d < bestDistance { best = k; bestDistance = d }
            }
            return best
        }
    }
}

/// The three additive attention masks of one RandSAC step, over tokens in raster order
/// (0 = may attend, −∞ = may not). With rᵢ the rank of token i's segment:
/// - encoder:  i sees j  ⇔ rⱼ ≤ rᵢ   (block-causal; full attention inside a segment)
/// - decoder:  i sees j  ⇔ 1 ≤ rⱼ ≤ rᵢ  (queries of target segments 2..K, same block-causal rule)
/// - memory:   query i sees encoder token j ⇔ rⱼ < rᵢ
/// The last segment's encoder tokens are seen by nothing, so they are never encoded into a
/// prediction; the first segment's query rows (rᵢ = 0) are computed only to keep one fixed-length
/// sequence per sample: no query sees them and they carry no loss (they see themselves and the
/// first segment's memory so that no softmax row is empty).
public struct SerializationMasks {
    /// [B, N, N], or [N, N] when every sample has the same serialization.
    public let encoder: Tensor
    public let decoder: Tensor
    public let memory: Tensor
    /// [B, N] of 0/1: 1 on the predicted tokens (segments 2..K).
    public let predicted: Tensor

    public init(_ serializations: [Serialization], dtype: DType) {
        precondition(!serializations.isEmpty, "masks need at least one serialization")
        let n = serializations[0].rank.count
        precondition(serializations.allSatisfy { $0.rank.count == n }, "every serialization must cover the same grid")
        let shared = serializations.allSatisfy { $0.rank == serializations[0].rank }
        let distinct = shared ? [serializations[0]] : serializations
        func build(_ allowed: (Int, Int, [Int]) -> Bool) -> Tensor {
            var values = [Double](repeating: -.infinity, count: distinct.count * n * n)
            for (b, s) in distinct.enumerated() {
                for i in 0..<n { for j in 0..<n where allowed(i, j, s.rank) { values[(b * n + i) * n + j] = 0 } }
            }
            return Tensor(values, shape: shared ? [n, n] : [distinct.count, n, n], dtype: dtype)
        }
        encoder = build { i, j, r in r[j] <= r[i] }
        decoder = build { i, j, r in r[i] == 0 ? i == j : (r[j] >= 1 && r[j] <= r[i]) }
        memory = build { i, j, r in r[i] == 0 ? r[j] == 0 : r[j] < r[i] }
        predicted = Tensor(serializations.flatMap { $0.rank.map { $0 >= 1 ? 1.0 : 0.0 } },
                           shape: [serializations.count, n], dtype: dtype)
    }
}
