import Dispatch

/// Work splitting for elementwise and row kernels. Chunks are contiguous and their
/// boundaries depend only on the problem size and `Parallel.workers`, never on timing, so
/// every kernel gives identical bits whatever the scheduling.
public enum Parallel {
    /// Number of worker chunks for kernels (set from the thread count at start-up).
    nonisolated(unsafe) public static var workers: Int = 1

    /// Below this many scalar operations a kernel runs on the calling thread: dispatch costs
    /// a few microseconds.
    public static let minimumWork = 1 << 15

    /// Runs `body(range)` over `0..<count` split into contiguous chunks. `costPerItem`
    /// scales the threshold so that small row counts of wide rows still split.
    @inline(__always)
    public static func forEachChunk(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(workers, count)
        if chunks <= 1 || count * costPerItem < minimumWork {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}

/// A raw pointer that may cross into `concurrentPerform` workers, which write disjoint ranges.
public struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    @inline(__always) public init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}
