import Foundation
import TensorCore

/// Fixed 2-D sin-cos position embedding, exactly MAE's `get_2d_sincos_pos_embed`:
/// half the width encodes one grid axis and half the other, each as [sin(pos·ω), cos(pos·ω)]
/// with ω_k = 1/10000^(k/(D/4)). MAE feeds `meshgrid(w, h)[0]` (the column index) to the
/// first half; that quirk is kept so embeddings match MAE's bit for bit in Double.
/// Returns [G·G (+1 zero row for CLS first), D].
public enum SinCosPositionEmbedding {
    public static func values(dimension d: Int, grid g: Int, clsToken: Bool) -> [Double] {
        precondition(d % 4 == 0, "sin-cos embedding width must be divisible by 4, got \(d)")
        let quarter = d / 4
        let omega = (0..<quarter).map { 1.0 / pow(10000.0, Double($0) / Double(quarter)) }
        var out = [Double]()
        out.reserveCapacity((g * g + 1) * d)
        if clsToken { out += [Double](repeating: 0, count: d) }
        for row in 0..<g {
            for col in 0..<g {
                for pos in [Double(col), Double(row)] {  // emb_h from grid[0] (= column), then emb_w
                    for k in 0..<quarter { out.append(sin(pos * omega[k])) }
                    for k in 0..<quarter { out.append(cos(pos * omega[k])) }
                }
            }
        }
        return out
    }

    public static func tensor(dimension d: Int, grid g: Int, clsToken: Bool, dtype: DType) -> Tensor {
        Tensor(values(dimension: d, grid: g, clsToken: clsToken), shape: [1, g * g + (clsToken ? 1 : 0), d], dtype: dtype)
    }
}

/// Bicubic resampling of a position-embedding grid as a fixed linear map, so gradients
/// flow through it: PyTorch's `F.interpolate(mode="bicubic", align_corners=False, size=…)`
/// (cubic convolution with A = −0.75, source index (o + ½)·in/out − ½, edges clamped).
public enum GridInterpolation {
    /// Weights [outSize, inSize] of the 1-D bicubic resampling (PyTorch's, A = −0.75, borders
    /// clamped). Output o samples source (o + 0.5)·s − 0.5 with s = n/m, or, with an `offset`,
    /// s = n/(m + offset): DINO's `interpolate_pos_encoding` passes scale_factor (m + 0.1)/n,
    /// and PyTorch then maps coordinates by that factor rather than by the sizes.
    public static func bicubicMatrix(from n: Int, to m: Int, offset: Double? = nil) -> [Double] {
        var w = [Double](repeating: 0, count: m * n)
        if n == m { for i in 0..<n { w[i * n + i] = 1 }; return w }
        let a = -0.75
        func cubic1(_ x: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func cubic2(_ x: Double) -> Double { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        let scale = Double(n) / (Double(m) + (offset ?? 0))
        for o in 0..<m {
            let src = (Double(o) + 0.5) * scale - 0.5
            let i0 = Int(floor(src))
            let t = src - Double(i0)
            let coeffs = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)]
            for (k, c) in coeffs.enumerated() {
                let idx = min(max(i0 - 1 + k, 0), n - 1)
                w[o * n + idx] += c
            }
        }
        return w
    }

    /// grid tokens [1, G·G, D] → [1, g·g, D] by separable bicubic interpolation (`offset`: see
    /// `bicubicMatrix`).
    public static func resize(_ tokens: Tensor, from g0: Int, to g1: Int, offset: Double? = nil) -> Tensor {
        precondition(tokens.rank == 3 && tokens.shape[1] == g0 * g0, "resize expects [1, \(g0 * g0), D], got \(tokens.shape)")
        if g0 == g1 { return tokens }
        let m1 = bicubicMatrix(from: g0, to: g1, offset: offset)
        var kron = [Double](repeating: 0, count: g1 * g1 * g0 * g0)
        for oy in 0..<g1 { for ox in 0..<g1 { for iy in 0..<g0 { for ix in 0..<g0 {
            kron[(oy * g1 + ox) * g0 * g0 + iy * g0 + ix] = m1[oy * g0 + iy] * m1[ox * g0 + ix]
        } } } }
        let map = Tensor(kron, shape: [g1 * g1, g0 * g0], dtype: tokens.dtype)
        return Tensor.matmul(map, tokens.reshaped([g0 * g0, tokens.shape[2]])).reshaped([1, g1 * g1, tokens.shape[2]])
    }
}
