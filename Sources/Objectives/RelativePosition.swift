// Image relative position encoding (iRPE; Wu et al., arXiv:2107.14222), as LoMaR uses it
// (junchen14/LoMaR vision_transformer_irpe.py / irpe.py): contextual mode, product method,
// on keys, one table shared by the heads of a block, CLS skipped into an extra bucket.
//
//   b(i, j) = (ρ(y_i − y_j) + 3)·7 + (ρ(x_i − x_j) + 3)      49 buckets; pairs with CLS → 49
//   ρ(Δ) = Δ                                  for |Δ| ≤ α
//        = sign(Δ)·min(round(α + ln(|Δ|/α)/ln(γ/α)·(β − α)), β) truncated, otherwise
//          (α, β, γ) = (1.9, 3.8, 15.2): |Δ| 0→0, 1→1, 2–3→2, ≥4→3
//   or, for windows too small to reach the last bucket (side s ≤ 4), ρ(Δ) = sign(Δ)·min(|Δ|, s − 1):
//          every bucket a larger grid uses is one the windows trained (`RelativePositionBucketing`)
//   contextual: logits_ij = q_i·k_j/√d_h + q_i·r_b(i,j)   (LoMaR's Attention.forward adds
//               `self.rpe_k(q)` with the UNSCALED q, after scaling q·kᵀ; iRPE's own models scale q first:
//               + (q_i/√d_h)·r_b(i,j), `RelativePositionQuery.scaled`, the arm `lomar-scaled-q`)
//   table (variant `lomar-rpe-table`): logits_ij = q_i·k_j/√d_h + t_h,b(i,j)
import Foundation
import Layers
import TensorCore

public enum RelativePositionKind: String, Codable, Sendable {
    /// iRPE contextual product on keys (LoMaR's code). Table [1, d_h, 50] per block, zero init.
    case contextualProduct = "contextual_product"
    /// A learned scalar per head and bucket, [H, 50] per block, zero init (a simpler variant).
    case table
}

/// Which q the contextual product multiplies with its table.
public enum RelativePositionQuery: String, Codable, Sendable {
    /// q as it enters attention (LoMaR's `Attention.forward`: `attn += self.rpe_k(q)` after the
    /// scaled q·kᵀ). The default; encoder.h5 files without the attribute hold this.
    case unscaled
    /// q/√d_h (iRPE's own models): the position term moves √d_h times slower (8× at d_h = 64).
    case scaled
}

/// How an offset becomes a bucket on each axis.
public enum RelativePositionBucketing: Equatable, Sendable, CustomStringConvertible {
    /// iRPE's piecewise mapping (LoMaR's code): |Δ| 0→0, 1→1, 2–3→2, ≥ 4→3.
    case irpe
    /// ρ(Δ) = sign(Δ)·min(|Δ|, m): offsets up to m get their own bucket, longer ones share bucket m.
    case clip(Int)

    /// The mapping for pretraining windows of side s: iRPE's when the window's largest offset
    /// (s − 1) reaches its last bucket (s ≥ 5, the paper's 7), else a clip at s − 1. With iRPE's
    /// mapping a 4×4 window trains 25 of the 49 buckets, and on the full 8×8 grid 53 % of the
    /// token pairs (16×16: 85 %) would fall in buckets that never left zero.
    public static func forWindow(_ s: Int) -> RelativePositionBucketing {
        RelativePositionBuckets.piecewise(s - 1) == RelativePositionBuckets.perAxis / 2 ? .irpe : .clip(s - 1)
    }

    /// `irpe` or `clip:<m>` (the encoder.h5 attribute `relative_position_buckets`).
    public var description: String {
        switch self {
        case .irpe: return "irpe"
        case .clip(let m): return "clip:\(m)"
        }
    }

    public init?(_ text: String) {
        if text == "irpe" { self = .irpe; return }
        guard text.hasPrefix("clip:"), let m = Int(text.dropFirst(5)), m >= 0, m <= RelativePositionBuckets.perAxis / 2 else {
            return nil
        }
        self = .clip(m)
    }

    /// ρ(Δ) for one axis.
    public func index(_ delta: Int) -> Int {
        switch self {
        case .irpe: return RelativePositionBuckets.piecewise(delta)
        case .clip(let m): return delta < 0 ? -min(-delta, m) : min(delta, m)
        }
    }
}

/// Bucket indices of the product method on a square grid, with a CLS token first.
public enum RelativePositionBuckets {
    public static let alpha = 1.9, beta = 3.8, gamma = 15.2
    /// 7 per axis (2·⌊β⌋ + 1) squared, plus one for every pair involving CLS.
    public static let perAxis = 7
    public static let count = perAxis * perAxis + 1
    public static let clsBucket = perAxis * perAxis

    /// iRPE's `piecewise_index` for an integer offset.
    public static func piecewise(_ delta: Int) -> Int {
        let d = Double(delta), a = abs(d)
        if a <= alpha { return delta }
        let y = (alpha + log(a / alpha) / log(gamma / alpha) * (beta - alpha)).rounded(.toNearestOrEven)
        return Int(d.sign == .minus ? -min(y, beta) : min(y, beta))
    }

    /// [T·T] bucket ids, T = 1 + g² (CLS first), row = query, column = key.
    public static func buckets(grid g: Int, mapping: RelativePositionBucketing = .irpe) -> [Int] {
        let t = g * g + 1, half = perAxis / 2
        var out = [Int](repeating: clsBucket, count: t * t)
        for qi in 0..<(g * g) {
            for ki in 0..<(g * g) {
                let dy = mapping.index(qi / g - ki / g), dx = mapping.index(qi % g - ki % g)
                out[(qi + 1) * t + ki + 1] = (dy + half) * perAxis + (dx + half)
            }
        }
        return out
    }
}

/// The relative-position tables of every block of one encoder.
public final class RelativePositionBias: Module {
    /// encoder.h5 attributes: the kind (`contextual_product`, `table`) and the bucket mapping
    /// (`irpe`, `clip:<m>`; absent in files written before it existed: `irpe`).
    public static let kindAttribute = "relative_position"
    public static let bucketsAttribute = "relative_position_buckets"
    /// `scaled` for q/√d_h; absent: `unscaled` (written only when scaled, so LoMaR's files keep their bytes).
    public static let queryAttribute = "relative_position_query"

    public let kind: RelativePositionKind
    /// The offset → bucket mapping the tables were trained with (evaluation must use the same).
    public let bucketing: RelativePositionBucketing
    /// The q of the contextual product (the table kind has none).
    public let query: RelativePositionQuery
    public let heads: Int
    /// contextual: [1, d_h, 50] per block; table: [H, 50] per block.
    public let tables: [Tensor]

    public init(kind: RelativePositionKind, bucketing: RelativePositionBucketing = .irpe, query: RelativePositionQuery = .unscaled,
                encoder c: ViTConfig, dtype: DType = .float32) {
        self.kind = kind
        self.bucketing = bucketing
        self.query = query
        heads = c.heads
        let shape = kind == .contextualProduct ? [1, c.dimension / c.heads, RelativePositionBuckets.count]
                                               : [c.heads, RelativePositionBuckets.count]
        tables = (0..<c.depth).map { _ in Initializer.constant(0, shape, dtype: dtype) }
    }

    /// Kind, buckets and (when not the official unscaled one) the query, as metrics files record
    /// them: "contextual_product, buckets clip:3".
    public var settingsDescription: String {
        "\(kind.rawValue), buckets \(bucketing)" + (queryNote.map { ", " + $0 } ?? "")
    }

    /// "scaled q" for a scaled query, nil for the official unscaled one: descriptions and digests
    /// mention the query only when scaled, so those of unscaled encoders stay as they were.
    public var queryNote: String? { query == .scaled ? "scaled q" : nil }

    /// The encoder.h5 attributes that let evaluation rebuild these tables (the query only when scaled).
    public var exportedAttributes: [String: String] {
        var attributes = [Self.kindAttribute: kind.rawValue, Self.bucketsAttribute: bucketing.description]
        if query == .scaled { attributes[Self.queryAttribute] = query.rawValue }
        return attributes
    }

    /// The additive attention bias of block `index` for qkv [B, T, 3D] on a g×g grid (+ CLS):
    /// contextual → [B, H, T, T]; table → [H, T, T].
    public func bias(block index: Int, qkv: Tensor, grid g: Int) -> Tensor {
        let b = qkv.shape[0], t = qkv.shape[1], d = qkv.shape[2] / 3, dh = d / heads, nb = RelativePositionBuckets.count
        precondition(t == g * g + 1, "relative position: \(t) tokens for a \(g)×\(g) grid with CLS")
        let buckets = RelativePositionBuckets.buckets(grid: g, mapping: bucketing)
        switch kind {
        case .contextualProduct:
            // q [B·H·T, d_h] · r [d_h, 50] → lookup [B·H·T, 50]; pick column b(i, j).
            var q = qkv.slice(axis: 2, 0..<d).reshaped([b, t, heads, dh]).permuted([0, 2, 1, 3])
                .reshaped([b * heads * t, dh])
            if query == .scaled { q = q * (1 / Double(dh).squareRoot()) }
            let lookup = Tensor.matmul(q, tables[index].reshaped([dh, nb]))
            var rows = [Int]()
            rows.reserveCapacity(b * heads * t * t)
            for r in 0..<(b * heads * t) {
                let i = r % t
                for j in 0..<t { rows.append(r * nb + buckets[i * t + j]) }
            }
            return lookup.reshaped([b * heads * t * nb, 1]).gatherRows(rows).reshaped([b, heads, t, t])
        case .table:
            var rows = [Int]()
            rows.reserveCapacity(heads * t * t)
            for h in 0..<heads { for ij in 0..<(t * t) { rows.append(h * nb + buckets[ij]) } }
            return tables[index].reshaped([heads * nb, 1]).gatherRows(rows).reshaped([heads, t, t])
        }
    }

    /// The per-block bias on a g×g grid (+ CLS) for `VisionTransformer.encode(blockBias:)`: the
    /// same forward serves pretraining windows and full-grid probing.
    public func blockBias(grid g: Int) -> BlockAttentionBias {
        { index, qkv in self.bias(block: index, qkv: qkv, grid: g) }
    }

    /// Keys follow iRPE's module names (`blocks.i.attn.rpe_k.lookup_table_weight`).
    public func namedParameters() -> [(String, Tensor)] {
        tables.enumerated().map { ("blocks.\($0.offset).attn.rpe_k.lookup_table_weight", $0.element) }
    }

    /// FLOPs of the contextual lookup per sequence of T tokens in one block (0 for the table).
    public func flops(tokens t: Int, width d: Int) -> Double {
        kind == .contextualProduct ? FlopCount.matmul(heads * t, RelativePositionBuckets.count, d / heads) : 0
    }
}
