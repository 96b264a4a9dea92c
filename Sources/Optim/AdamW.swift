import Foundation
import TensorCore

/// AdamW (Loshchilov & Hutter), written in the exact operation order of PyTorch's
/// single-tensor `torch.optim.AdamW` so float32 results agree to rounding:
///   θ ← θ·(1 − lr·λ);  m ← m + (1−β₁)(g − m) (torch's lerp);  v ← β₂v + (1−β₂)g²;
///   θ ← θ − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε)
/// Weight decay applies by default only to tensors of rank ≥ 2 (not biases, norms, tokens
/// of rank < 2 — position embeddings are rank 3 and decay unless excluded by name).
public struct AdamW: Sendable {
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    /// Decides per parameter (key, tensor) whether weight decay applies.
    public var decays: @Sendable (String, Tensor) -> Bool

    public init(beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                decays: @escaping @Sendable (String, Tensor) -> Bool = { _, t in t.rank >= 2 }) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.decays = decays
    }

    /// Moments m, v per parameter (same order as the parameters), the step count, and how many
    /// updates each parameter has had: like torch, a parameter without a gradient (DINO's
    /// frozen last layer) is skipped and its bias correction counts only its own updates.
    public struct State: Sendable {
        public var step: Int
        public var m: [Storage]
        public var v: [Storage]
        public var counts: [Int]
        public init(step: Int, m: [Storage], v: [Storage], counts: [Int]? = nil) {
            precondition(m.count == v.count && (counts?.count ?? m.count) == m.count, "AdamW state slots disagree")
            self.step = step
            self.m = m
            self.v = v
            self.counts = counts ?? [Int](repeating: step, count: m.count)
        }
    }

    public func initialState(for parameters: [(String, Tensor)]) -> State {
        State(step: 0, m: parameters.map { Storage(zeros: $0.1.count, dtype: $0.1.dtype) },
              v: parameters.map { Storage(zeros: $0.1.count, dtype: $0.1.dtype) })
    }

    /// One update of every parameter that has a gradient, in place; returns the next state.
    /// Weight decay `wd` applies where `decays` says so.
    public func step(_ parameters: [(String, Tensor)], state: State, learningRate lr: Double, weightDecay wd: Double) -> State {
        let decaying = parameters.indices.filter { decays(parameters[$0].0, parameters[$0].1) }
        let others = parameters.indices.filter { !decays(parameters[$0].0, parameters[$0].1) }
        return step(parameters, state: state, groups: [(decaying, lr, wd), (others, lr, 0)])
    }

    /// One update with per-group settings: `groups` lists parameter indices with their learning
    /// rate and weight decay (each index in one group at most). Parameters without a gradient are
    /// skipped. Returns the next state (step + 1).
    public func step(_ parameters: [(String, Tensor)], state: State,
                     groups: [(indices: [Int], learningRate: Double, weightDecay: Double)]) -> State {
        precondition(state.m.count == parameters.count, "AdamW state has \(state.m.count) slots for \(parameters.count) parameters")
        var next = state
        next.step += 1
        for group in groups {
            for i in group.indices {
                let p = parameters[i].1
                guard p.grad != nil else { continue }
                next.counts[i] += 1
                update(p, slot: i, state: next, count: next.counts[i], learningRate: group.learningRate,
                       weightDecay: group.weightDecay)
            }
        }
        return next
    }

    private func update(_ p: Tensor, slot i: Int, state next: State, count: Int, learningRate lr: Double,
                        weightDecay decay: Double) {
        let g = p.grad!
        let t = Double(count)
        let bc1 = 1 - pow(beta1, t), bc2 = 1 - pow(beta2, t)
        switch p.dtype {
        case .float32:
            update(p.storage.f32, g.f32, next.m[i].f32, next.v[i].f32, p.count,
                   Float(lr), Float(decay), Float(beta1), Float(beta2), Float(eps), Float(bc1), Float(bc2))
        case .float64:
            update(p.storage.f64, g.f64, next.m[i].f64, next.v[i].f64, p.count, lr, decay, beta1, beta2, eps, bc1, bc2)
        }
    }

    /// The element-wise update, split over the kernel workers for large tensors; every element
    /// is computed by the same sequence of operations whatever the split.
    @inline(__always)
    private func update<S: BinaryFloatingPoint>(_ p: UnsafeMutablePointer<S>, _ g: UnsafeMutablePointer<S>,
                                                _ m: UnsafeMutablePointer<S>, _ v: UnsafeMutablePointer<S>, _ n: Int,
                                                _ lr: S, _ wd: S, _ b1: S, _ b2: S, _ eps: S, _ bc1: S, _ bc2: S) {
        let stepSize = lr / bc1
        let bc2Sqrt = bc2.squareRoot()
        let decayFactor = 1 - lr * wd
        let sp = SendablePointer(p), sg = SendablePointer(g), sm = SendablePointer(m), sv = SendablePointer(v)
        Parallel.forEachChunk(n, costPerItem: 8) { r in
            let p = sp.pointer, g = sg.pointer, m = sm.pointer, v = sv.pointer
            for j in r {
                p[j] *= decayFactor
                m[j] = m[j] + (1 - b1) * (g[j] - m[j])
                v[j] = v[j] * b2 + (1 - b2) * g[j] * g[j]
                let denom = v[j].squareRoot() / bc2Sqrt + eps
                p[j] -= stepSize * (m[j] / denom)
            }
        }
    }
}
