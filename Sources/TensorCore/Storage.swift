import Foundation

/// Element type of a tensor. Training runs in `float32`; `float64` exists so that every op,
/// layer and objective can be gradient-checked by central differences in Double.
public enum DType: String, Sendable, Codable {
    case float32
    case float64

    public var byteSize: Int { self == .float32 ? 4 : 8 }
}

/// A raw, 64-byte aligned element buffer owned by one or more tensors. Reshapes share it;
/// every op that computes new values allocates a new one.
public final class Storage: @unchecked Sendable {
    public let raw: UnsafeMutableRawPointer
    public let count: Int
    public let dtype: DType

    /// Uninitialised storage: callers must write every element.
    public init(uninitializedCount count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        raw = BufferPool.take(byteCount: max(count, 1) * dtype.byteSize)
    }

    /// Zero-filled storage.
    public convenience init(zeros count: Int, dtype: DType) {
        self.init(uninitializedCount: count, dtype: dtype)
        memset(raw, 0, count * dtype.byteSize)
    }

    deinit { BufferPool.give(raw, byteCount: max(count, 1) * dtype.byteSize) }

    @inline(__always) public var f32: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    @inline(__always) public var f64: UnsafeMutablePointer<Double> { raw.assumingMemoryBound(to: Double.self) }

    /// Element i as Double (for tests and reporting, not for kernels).
    public subscript(i: Int) -> Double {
        get { dtype == .float32 ? Double(f32[i]) : f64[i] }
        set { if dtype == .float32 { f32[i] = Float(newValue) } else { f64[i] = newValue } }
    }

    public func copy() -> Storage {
        let s = Storage(uninitializedCount: count, dtype: dtype)
        memcpy(s.raw, raw, count * dtype.byteSize)
        return s
    }

    public func zero() { memset(raw, 0, count * dtype.byteSize) }
}

extension Storage {
    /// Typed pointer for generic kernels (the dtype is checked by the caller's dispatch).
    @inline(__always)
    func ptr<S: KernelScalar>(_: S.Type) -> UnsafeMutablePointer<S> { raw.assumingMemoryBound(to: S.self) }
}

/// A cache of freed buffers keyed by exact byte size. Training allocates the same shapes
/// every step; without the cache each large buffer is a fresh mmap whose pages fault in on
/// first touch (measured: ~10% of an inference step). Buffer contents never matter (every
/// allocation is fully written or zeroed), so reuse cannot change results.
public enum BufferPool {
    /// Bytes kept cached at most; beyond it, freed buffers go back to the system.
    nonisolated(unsafe) public static var limitBytes = 6 << 30
    nonisolated(unsafe) static var buckets: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) static var cachedBytes = 0
    static let lock = NSLock()
    /// Buffers smaller than this come straight from malloc, which already caches them.
    static let minimumPooled = 1 << 16

    static func take(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumPooled {
            lock.lock()
            if let p = buckets[byteCount]?.popLast() {
                cachedBytes -= byteCount
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    static func give(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= minimumPooled {
            lock.lock()
            if cachedBytes + byteCount <= limitBytes {
                buckets[byteCount, default: []].append(p)
                cachedBytes += byteCount
                lock.unlock()
                return
            }
            lock.unlock()
        }
        p.deallocate()
    }

    /// Releases every cached buffer.
    public static func drain() {
        lock.lock()
        for (_, list) in buckets { for p in list { p.deallocate() } }
        buckets = [:]
        cachedBytes = 0
        lock.unlock()
    }
}
