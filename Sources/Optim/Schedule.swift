import Foundation

/// Per-step schedules, precomputed like DINO's `cosine_scheduler`: a linear warm-up from
/// `warmupStart` to `base` over `warmupSteps`, then a half cosine from `base` to `final`.
/// Used for learning rate, weight decay and EMA momentum.
public struct CosineSchedule: Codable, Equatable, Sendable {
    public var base: Double
    public var final: Double
    public var totalSteps: Int
    public var warmupSteps: Int
    public var warmupStart: Double

    public init(base: Double, final: Double, totalSteps: Int, warmupSteps: Int = 0, warmupStart: Double = 0) {
        precondition(totalSteps > 0 && warmupSteps >= 0 && warmupSteps <= totalSteps, "schedule needs 0 ≤ warmup ≤ total, total > 0")
        self.base = base
        self.final = final
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps
        self.warmupStart = warmupStart
    }

    /// The value at `step` (0-based); steps past the end keep the final value.
    public func value(at step: Int) -> Double {
        if step < warmupSteps {
            return warmupStart + (base - warmupStart) * Double(step) / Double(warmupSteps)
        }
        let span = totalSteps - warmupSteps
        guard span > 0 else { return base }
        let t = Double(min(step - warmupSteps, span)) / Double(span)
        return final + 0.5 * (base - final) * (1 + cos(Double.pi * t))
    }

    /// Every step's value.
    public var values: [Double] { (0..<totalSteps).map(value(at:)) }
}
