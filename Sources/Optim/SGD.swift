import TensorCore

/// SGD with momentum in PyTorch's form: g ← g + λθ; b ← μb + g; θ ← θ − lr·b.
public struct SGD: Sendable {
    public var momentum: Double
    public init(momentum: Double = 0.9) { self.momentum = momentum }

    public func initialState(for parameters: [(String, Tensor)]) -> [Storage] {
        parameters.map { Storage(zeros: $0.1.count, dtype: $0.1.dtype) }
    }

    /// Updates parameters in place; returns the next momentum buffers.
    public func step(_ parameters: [(String, Tensor)], buffers: [Storage], learningRate lr: Double, weightDecay wd: Double) -> [Storage] {
        precondition(buffers.count == parameters.count)
        for (i, (_, p)) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let b = buffers[i]
            for j in 0..<p.count {
                let gj = g[j] + wd * p.storage[j]
                b[j] = momentum * b[j] + gj
                p.storage[j] -= lr * b[j]
            }
        }
        return buffers
    }
}
