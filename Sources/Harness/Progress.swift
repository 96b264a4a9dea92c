import Foundation

/// Progress output: a redrawn bar with ETA on a terminal, plain periodic lines otherwise
/// (logs, CI), nothing when quiet.
public struct ProgressReporter {
    public enum Mode: String, CaseIterable, Sendable { case auto, bar, lines, quiet }

    let mode: Mode
    let total: Int
    let label: String
    var lastLine = Date.distantPast
    let lineInterval: TimeInterval

    public init(mode: Mode, total: Int, label: String, lineInterval: TimeInterval = 10) {
        self.mode = mode == .auto ? (isatty(fileno(stdout)) != 0 ? .bar : .lines) : mode
        self.total = total
        self.label = label
        self.lineInterval = lineInterval
        setvbuf(stdout, nil, _IOLBF, 0)
    }

    /// `done` steps finished; `rate` steps per second over the recent window.
    public mutating func update(done: Int, loss: Double, imagesPerSecond: Double, stepsPerSecond: Double) {
        let remaining = stepsPerSecond > 0 ? Double(total - done) / stepsPerSecond : 0
        let eta = Self.clock(remaining)
        let percent = 100 * Double(done) / Double(max(total, 1))
        switch mode {
        case .bar:
            let width = 30, filled = Int(Double(width) * Double(done) / Double(max(total, 1)))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            print(String(format: "\r%@ [%@] %d/%d %5.1f%% loss %.4f %.0f img/s ETA %@ ", label, bar, done, total,
                         percent, loss, imagesPerSecond, eta), terminator: done == total ? "\n" : "")
            fflush(stdout)
        case .lines:
            let now = Date()
            guard done == total || now.timeIntervalSince(lastLine) >= lineInterval else { return }
            lastLine = now
            print(String(format: "%@ step %d/%d (%.1f%%) loss %.4f %.0f img/s ETA %@", label, done, total, percent, loss,
                         imagesPerSecond, eta))
        case .quiet, .auto:
            break
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
