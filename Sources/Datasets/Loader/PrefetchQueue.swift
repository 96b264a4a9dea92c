import Foundation

/// A bounded FIFO between one producer thread and one consumer. `put` blocks while full;
/// `take` blocks while empty and returns nil after `finish`. When the consumer drops the
/// queue (stops iterating), `deinit` cancels it so the producer stops at its next `put`.
final class PrefetchQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var finished = false
    private var cancelled = false
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Returns false when the consumer has gone (the producer should stop).
    func put(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if items.isEmpty { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Held by the consuming iterator only: when the iterator is dropped early, the producer is
/// released from a blocked `put` and exits.
final class PrefetchConsumer<Element> {
    let queue: PrefetchQueue<Element>
    init(_ queue: PrefetchQueue<Element>) { self.queue = queue }
    deinit { queue.cancel() }
}
