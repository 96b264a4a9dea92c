import Foundation

/// Progress lines for feature extraction: `features train: 12800/60000 images (21 %), 142
/// images/s, ETA 5:30`, at most one per `interval` seconds, and always the last (a split of
/// 60,000 images takes minutes at 1 thread, ImageNet-sized splits hours).
public final class ExtractionProgress {
    let role: String
    let total: Int
    let say: @Sendable (String) -> Void
    let interval: TimeInterval
    let started = Date()
    var lastLine: Date

    public init(role: String, total: Int, say: @escaping @Sendable (String) -> Void, interval: TimeInterval = 10) {
        self.role = role
        self.total = total
        self.say = say
        self.interval = interval
        lastLine = started
    }

    public func update(done: Int) {
        let now = Date()
        guard done == total || now.timeIntervalSince(lastLine) >= interval else { return }
        lastLine = now
        let seconds = now.timeIntervalSince(started)
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let remaining = rate > 0 ? Int((Double(total - done) / rate).rounded()) : 0
        say(String(format: "features %@: %d/%d images (%.0f %%), %.0f images/s, ETA %d:%02d", role, done, total,
                   100 * Double(done) / Double(max(total, 1)), rate, remaining / 60, remaining % 60))
    }
}
