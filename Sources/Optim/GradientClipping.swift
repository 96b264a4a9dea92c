import TensorCore

/// Gradient clipping, both forms the papers' code uses.
public enum GradientClipping {
    /// torch.nn.utils.clip_grad_norm_: scales all gradients by max/(‖g‖ + 1e-6) when the
    /// global L2 norm exceeds `maxNorm`. Returns the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
        var total = 0.0
        for p in parameters { if let g = p.grad { for i in 0..<g.count { total += g[i] * g[i] } } }
        let norm = total.squareRoot()
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 { for p in parameters { if let g = p.grad { for i in 0..<g.count { g[i] *= coef } } } }
        return norm
    }

    /// DINO's `clip_gradients`: each tensor's gradient clipped to norm `clip` separately.
    public static func clipPerTensor(_ parameters: [Tensor], clip: Double) {
        for p in parameters {
            guard let g = p.grad else { continue }
            var s = 0.0
            for i in 0..<g.count { s += g[i] * g[i] }
            let coef = clip / (s.squareRoot() + 1e-6)
            if coef < 1 { for i in 0..<g.count { g[i] *= coef } }
        }
    }
}
