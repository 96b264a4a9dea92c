import Foundation

/// Fixed, locale-free number formatting for Markdown and SVG, so outputs are byte-identical run to run.
public enum NumberFormatting {
    /// `digits` decimals; "-0.00" is printed as "0.00".
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        let text = String(format: "%.\(digits)f", value)
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
            return String(text.dropFirst())
        }
        return text
    }

    /// A signed fixed number: "+1.30", "-0.20".
    public static func signed(_ value: Double, digits: Int) -> String {
        let text = fixed(value, digits: digits)
        return text.hasPrefix("-") ? text : "+" + text
    }

    /// A confidence bound: signed like `signed`, but a negative bound that rounds to zero keeps
    /// its sign ("-0.00"), since which side of 0 a bound lies on decides the verdict.
    public static func bound(_ value: Double, digits: Int) -> String {
        guard value.isFinite, value < 0 else { return signed(value, digits: digits) }
        return "-" + fixed(-value, digits: digits)
    }

    /// Four significant digits, for free-scale numbers (regularisation strengths, throughputs, FLOPs).
    public static func significant(_ value: Double, digits: Int = 4) -> String {
        guard value.isFinite else { return fixed(value, digits: 0) }
        if value == 0 { return "0" }
        return String(format: "%.\(digits)g", value)
    }

    /// Display of a metric value: percentages with two decimals, other numbers with four significant digits.
    static func metric(_ value: Double, probe: String, metric: String) -> String {
        ProbeMetricRegistry.isPercentage(probe: probe, metric: metric)
            ? fixed(value, digits: 2) : significant(value)
    }
}
