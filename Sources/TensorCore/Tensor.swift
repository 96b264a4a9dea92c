import Foundation
import Synchronization

/// A dense, row-major tensor of `float32` (training) or `float64` (gradient checks) with
/// reverse-mode automatic differentiation.
///
/// Every op that involves a tensor with `requiresGrad` records a pullback closure and its
/// inputs in an ordered array. `backward()` visits the graph in reverse creation order, so
/// gradients are always summed in the same order and results are bit-reproducible.
/// Gradients accumulate with `+=` into `grad`; clearing them is explicit (`zeroGrad()`).
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: Storage
    public var dtype: DType { storage.dtype }
    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// True for leaves that want gradients (parameters) and for every result computed from one.
    public internal(set) var requiresGrad: Bool
    /// Accumulated gradient, allocated on first use; same shape as the tensor.
    public var grad: Storage?
    /// Optional name (parameters use their checkpoint key).
    public var name: String?

    let id: UInt64
    var inputs: [Tensor] = []
    var pullback: ((Storage) -> Void)?

    /// Creation order of tensors, process-wide and atomic so graphs built on any thread sort correctly.
    static let idCounter = Atomic<UInt64>(0)

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(ShapeMath.count(shape) == storage.count,
                     "shape \(shape) needs \(ShapeMath.count(shape)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
        id = Tensor.idCounter.add(1, ordering: .relaxed).newValue
    }

    /// A leaf viewing existing storage (optimizer moments, checkpoint buffers).
    public convenience init(sharing storage: Storage, shape: [Int]) {
        self.init(shape: shape, storage: storage)
    }

    /// A tensor from Double values, converted to `dtype`.
    public convenience init(_ values: [Double], shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) {
        precondition(values.count == ShapeMath.count(shape), "\(values.count) values for shape \(shape)")
        let s = Storage(uninitializedCount: values.count, dtype: dtype)
        for i in 0..<values.count { s[i] = values[i] }
        self.init(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    /// A float32 tensor from Float values.
    public convenience init(floats values: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == ShapeMath.count(shape), "\(values.count) values for shape \(shape)")
        let s = Storage(uninitializedCount: values.count, dtype: .float32)
        values.withUnsafeBufferPointer { s.f32.update(from: $0.baseAddress!, count: values.count) }
        self.init(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: Storage(zeros: ShapeMath.count(shape), dtype: dtype), requiresGrad: requiresGrad)
    }

    public static func full(_ value: Double, _ shape: [Int], dtype: DType = .float32) -> Tensor {
        let s = Storage(uninitializedCount: ShapeMath.count(shape), dtype: dtype)
        for i in 0..<s.count { s[i] = value }
        return Tensor(shape: shape, storage: s)
    }

    public static func scalar(_ value: Double, dtype: DType = .float32) -> Tensor { full(value, [], dtype: dtype) }

    /// A leaf that shares this tensor's storage and does not require gradients.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A leaf copy with its own storage.
    public func copy(requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: storage.copy(), requiresGrad: requiresGrad)
    }

    /// Marks a leaf as trainable (or not).
    public func setRequiresGrad(_ flag: Bool) {
        precondition(pullback == nil, "requiresGrad can only be set on leaves")
        requiresGrad = flag
    }

    public func zeroGrad() { grad = nil }

    /// Values as Double (tests, reporting).
    public var doubles: [Double] { (0..<count).map { storage[$0] } }
    /// Values as Float.
    public var floats: [Float] {
        dtype == .float32 ? Array(UnsafeBufferPointer(start: storage.f32, count: count)) : doubles.map { Float($0) }
    }
    /// The single value of a one-element tensor.
    public var item: Double {
        precondition(count == 1, "item needs one element, shape is \(shape)")
        return storage[0]
    }

    /// Converts to another dtype (a new leaf).
    public func converted(to d: DType) -> Tensor {
        if d == dtype { return copy() }
        let s = Storage(uninitializedCount: count, dtype: d)
        if d == .float64 { for i in 0..<count { s.f64[i] = Double(storage.f32[i]) } }
        else { for i in 0..<count { s.f32[i] = Float(storage.f64[i]) } }
        return Tensor(shape: shape, storage: s)
    }
}

// MARK: - Graph recording and backward

extension Tensor {
    /// Whether ops currently record the graph (false inside `withoutGrad`).
    /// The switch is per thread, so concurrent tests or evaluation threads do not disturb it.
    public static var isGradEnabled: Bool { gradEnabled }

    static var gradEnabled: Bool {
        get { pthread_getspecific(noGradKey) == nil }
        set { pthread_setspecific(noGradKey, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }

    static let noGradKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` without recording the graph (inference, EMA updates, evaluation).
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let saved = gradEnabled
        gradEnabled = false
        defer { gradEnabled = saved }
        return try body()
    }

    /// Creates an op result; records `pullback` when any input needs gradients.
    /// `pullback` receives the output gradient and adds into its inputs' gradients.
    static func result(_ shape: [Int], _ storage: Storage, inputs: [Tensor],
                       pullback: @escaping (Storage) -> Void) -> Tensor {
        let needs = gradEnabled && inputs.contains { $0.requiresGrad }
        let t = Tensor(shape: shape, storage: storage, requiresGrad: needs)
        if needs {
            t.inputs = inputs
            t.pullback = pullback
        }
        return t
    }

    /// The gradient buffer of this tensor, zero-allocated on first use.
    func gradBuffer() -> Storage {
        if let g = grad { return g }
        let g = Storage(zeros: count, dtype: dtype)
        grad = g
        return g
    }

    /// Adds `g` into this tensor's gradient (skips tensors that need none).
    /// `owned`: the caller gives `g` away (a fresh buffer no one else holds), so the first
    /// contribution is adopted instead of copied.
    func accumulate(_ g: Storage, owned: Bool = false) {
        guard requiresGrad else { return }
        precondition(g.count == count && g.dtype == dtype)
        if grad == nil { grad = owned ? g : g.copy(); return }
        Kernels.addInPlace(grad!, g)
    }

    /// Reverse-mode backward from a scalar (or from `seed`, the gradient of the output).
    /// Intermediate gradients are released as soon as they are consumed; leaves keep theirs.
    public func backward(seed: Tensor? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require gradients")
        if let seed { precondition(seed.shape == shape, "seed shape \(seed.shape) != \(shape)") }
        else { precondition(count == 1, "backward() without a seed needs a scalar, shape is \(shape)") }
        // Collect the graph (iterative DFS), then visit in reverse creation order.
        var seen = Set<UInt64>()
        var nodes: [Tensor] = []
        var stack: [Tensor] = [self]
        while let t = stack.popLast() {
            guard t.pullback != nil, seen.insert(t.id).inserted else { continue }
            nodes.append(t)
            stack.append(contentsOf: t.inputs)
        }
        nodes.sort { $0.id > $1.id }
        let g = Storage(uninitializedCount: count, dtype: dtype)
        if let seed { memcpy(g.raw, seed.storage.raw, count * dtype.byteSize) } else { g[0] = 1 }
        accumulate(g)
        for t in nodes {
            guard let g = t.grad, let pb = t.pullback else { continue }
            pb(g)
            // Interior nodes drop their gradient and graph links once consumed.
            t.grad = nil
            t.pullback = nil
            t.inputs = []
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = doubles.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(\(dtype), shape: \(shape), [\(head)\(count > 8 ? ", …" : "")])"
    }
}
