import Foundation

/// Hand-written SVG plots: fixed sizes, fixed colours, coordinates with two decimals and no timestamps or ids
/// that vary, so a plot is byte-identical for identical data.
public enum SVGPlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// One curve of a line plot.
    public struct Series: Sendable {
        public var label: String
        public var points: [(x: Double, y: Double)]

        public init(label: String, points: [(x: Double, y: Double)]) {
            self.label = label
            self.points = points
        }
    }

    /// One row of an interval plot: a measured mean with its CI and the reported value, on one horizontal axis.
    public struct IntervalRow: Sendable {
        public var label: String
        public var measured: Double?
        public var lower: Double?
        public var upper: Double?
        public var reported: Double?
        public var colour: String

        public init(label: String, measured: Double?, lower: Double?, upper: Double?, reported: Double?, colour: String) {
            self.label = label
            self.measured = measured
            self.lower = lower
            self.upper = upper
            self.reported = reported
            self.colour = colour
        }
    }

    static func coordinate(_ value: Double) -> String { NumberFormatting.fixed(value, digits: 2) }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// About five round tick values (1, 2 or 5 × 10^k apart) covering [low, high].
    static func ticks(low: Double, high: Double) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let rough = span / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var values: [Double] = []
        var index = (low / step).rounded(.up)
        while index * step <= high + step * 1e-9 {
            values.append(index * step)
            index += 1
        }
        return values
    }

    static func range(_ values: [Double]) -> (low: Double, high: Double) {
        guard let low = values.min(), let high = values.max() else { return (0, 1) }
        if low == high { return (low - 1, high + 1) }
        let pad = 0.05 * (high - low)
        return (low - pad, high + pad)
    }

    /// A line plot with a legend, e.g. training loss against images seen, one series per seed.
    public static func linePlot(title: String, xLabel: String, yLabel: String, series: [Series],
                                xTickLabel: (Double) -> String = { NumberFormatting.significant($0) }) -> String {
        let (width, height) = (640.0, 400.0)
        let (left, right, top, bottom) = (70.0, 150.0, 40.0, 50.0)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let (xLow, xHigh) = range(xs)
        let (yLow, yHigh) = range(ys)
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - yLow) / (yHigh - yLow)) * plotHeight }
        var svg = header(width: width, height: height, title: title)
        svg += axes(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, xLabel: xLabel, yLabel: yLabel)
        for tick in ticks(low: xLow, high: xHigh) {
            svg += tickX(px(tick), y: top + plotHeight, label: xTickLabel(tick))
        }
        for tick in ticks(low: yLow, high: yHigh) {
            svg += tickY(py(tick), x: left, label: NumberFormatting.significant(tick))
        }
        if xs.isEmpty {
            svg += text(x: left + plotWidth / 2, y: top + plotHeight / 2, "no data", anchor: "middle")
        }
        for (index, curve) in series.enumerated() {
            let colour = palette[index % palette.count]
            let points = curve.points.filter { $0.x.isFinite && $0.y.isFinite }
                .map { "\(coordinate(px($0.x))),\(coordinate(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
            let legendY = top + 14 + Double(index) * 18
            svg += "<line x1=\"\(coordinate(width - right + 10))\" y1=\"\(coordinate(legendY - 4))\" "
                + "x2=\"\(coordinate(width - right + 30))\" y2=\"\(coordinate(legendY - 4))\" stroke=\"\(colour)\" "
                + "stroke-width=\"2\"/>\n"
            svg += text(x: width - right + 36, y: legendY, curve.label, anchor: "start")
        }
        return svg + "</svg>\n"
    }

    /// Rows of measured mean ± CI (dot and whisker) beside the reported value (hollow diamond) on one axis,
    /// with a dashed line at `zero`. `tickLabel` maps an axis value to its label (e.g. a log ratio to "×2").
    /// `tickValues` replaces the round ticks (e.g. log(×0.5), log(×1), log(×2) on a log axis);
    /// `legend` adds (colour, meaning) entries, e.g. what each verdict colour means.
    public static func intervalPlot(
        title: String, axisLabel: String, rows: [IntervalRow], zero: Double, tickLabel: (Double) -> String,
        tickValues: (([Double], Double, Double) -> [Double])? = nil, legend: [(colour: String, label: String)] = []
    ) -> String {
        let rowHeight = 22.0
        let (left, right, top, bottom) = (330.0, 30.0, 40.0, 60.0)
        let width = 900.0
        let height = top + bottom + max(1, Double(rows.count)) * rowHeight
        let plotWidth = width - left - right
        let values = rows.flatMap { [$0.measured, $0.lower, $0.upper, $0.reported].compactMap { $0 } }
            .filter(\.isFinite) + [zero]
        let (low, high) = range(values)
        func px(_ x: Double) -> Double { left + (x - low) / (high - low) * plotWidth }
        var svg = header(width: width, height: height, title: title)
        let plotHeight = height - top - bottom
        svg += axes(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, xLabel: axisLabel, yLabel: "")
        for tick in tickValues?(values, low, high) ?? ticks(low: low, high: high) where tick >= low && tick <= high {
            svg += tickX(px(tick), y: top + plotHeight, label: tickLabel(tick))
        }
        svg += "<line x1=\"\(coordinate(px(zero)))\" y1=\"\(coordinate(top))\" x2=\"\(coordinate(px(zero)))\" "
            + "y2=\"\(coordinate(top + plotHeight))\" stroke=\"#999999\" stroke-dasharray=\"4 3\"/>\n"
        if rows.isEmpty {
            svg += text(x: left + plotWidth / 2, y: top + plotHeight / 2, "no measured claims", anchor: "middle")
        }
        for (index, row) in rows.enumerated() {
            let y = top + (Double(index) + 0.5) * rowHeight
            svg += text(x: left - 8, y: y + 4, row.label, anchor: "end")
            if let lower = row.lower, let upper = row.upper {
                svg += "<line x1=\"\(coordinate(px(lower)))\" y1=\"\(coordinate(y))\" x2=\"\(coordinate(px(upper)))\" "
                    + "y2=\"\(coordinate(y))\" stroke=\"\(row.colour)\" stroke-width=\"2\"/>\n"
            }
            if let measured = row.measured {
                svg += "<circle cx=\"\(coordinate(px(measured)))\" cy=\"\(coordinate(y))\" r=\"4\" "
                    + "fill=\"\(row.colour)\"/>\n"
            }
            if let reported = row.reported {
                let x = px(reported)
                svg += "<polygon points=\"\(coordinate(x)),\(coordinate(y - 5)) \(coordinate(x + 5)),\(coordinate(y)) "
                    + "\(coordinate(x)),\(coordinate(y + 5)) \(coordinate(x - 5)),\(coordinate(y))\" fill=\"none\" "
                    + "stroke=\"#000000\"/>\n"
            }
        }
        let legendY = height - 12
        svg += "<circle cx=\"\(coordinate(left))\" cy=\"\(coordinate(legendY - 4))\" r=\"4\" fill=\"#1f77b4\"/>\n"
        svg += text(x: left + 8, y: legendY, "measured mean, 95% CI", anchor: "start")
        svg += "<polygon points=\"\(coordinate(left + 200)),\(coordinate(legendY - 9)) "
            + "\(coordinate(left + 205)),\(coordinate(legendY - 4)) \(coordinate(left + 200)),\(coordinate(legendY + 1)) "
            + "\(coordinate(left + 195)),\(coordinate(legendY - 4))\" fill=\"none\" stroke=\"#000000\"/>\n"
        svg += text(x: left + 212, y: legendY, "reported", anchor: "start")
        for (index, entry) in legend.enumerated() {
            let x = left + 290 + Double(index) * 95
            svg += "<rect x=\"\(coordinate(x))\" y=\"\(coordinate(legendY - 9))\" width=\"10\" height=\"10\" fill=\"\(entry.colour)\"/>\n"
            svg += text(x: x + 14, y: legendY, entry.label, anchor: "start")
        }
        return svg + "</svg>\n"
    }

    /// 240000 → "240k", 2.4e6 → "2.4M": counts read as counts, not as 2.4e+05.
    public static func countLabel(_ value: Double) -> String {
        let a = abs(value)
        if a >= 1e6 { return NumberFormatting.significant(value / 1e6, digits: 3) + "M" }
        if a >= 1e3 { return NumberFormatting.significant(value / 1e3, digits: 3) + "k" }
        return NumberFormatting.significant(value, digits: 3)
    }

    /// A centred moving average over `window` points (shorter at the ends): the per-step loss is
    /// noisy, its trend is what a reader looks for.
    public static func smoothed(_ points: [(x: Double, y: Double)], window: Int) -> [(x: Double, y: Double)] {
        guard window > 1, points.count > window else { return points }
        let half = window / 2
        return points.indices.map { i in
            let slice = points[max(0, i - half)...min(points.count - 1, i + half)]
            return (points[i].x, slice.reduce(0) { $0 + $1.y } / Double(slice.count))
        }
    }

    static func header(width: Double, height: Double, title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
            + "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
            + text(x: width / 2, y: 20, title, anchor: "middle", size: 14)
    }

    static func axes(left: Double, top: Double, plotWidth: Double, plotHeight: Double, xLabel: String, yLabel: String)
        -> String
    {
        var svg = "<rect x=\"\(coordinate(left))\" y=\"\(coordinate(top))\" width=\"\(coordinate(plotWidth))\" "
            + "height=\"\(coordinate(plotHeight))\" fill=\"none\" stroke=\"#000000\"/>\n"
        svg += text(x: left + plotWidth / 2, y: top + plotHeight + 38, xLabel, anchor: "middle")
        if !yLabel.isEmpty {
            let (x, y) = (coordinate(16), coordinate(top + plotHeight / 2))
            svg += "<text x=\"\(x)\" y=\"\(y)\" text-anchor=\"middle\" transform=\"rotate(-90 \(x) \(y))\">"
                + "\(escaped(yLabel))</text>\n"
        }
        return svg
    }

    static func tickX(_ x: Double, y: Double, label: String) -> String {
        "<line x1=\"\(coordinate(x))\" y1=\"\(coordinate(y))\" x2=\"\(coordinate(x))\" y2=\"\(coordinate(y + 5))\" "
            + "stroke=\"#000000\"/>\n" + text(x: x, y: y + 18, label, anchor: "middle")
    }

    static func tickY(_ y: Double, x: Double, label: String) -> String {
        "<line x1=\"\(coordinate(x - 5))\" y1=\"\(coordinate(y))\" x2=\"\(coordinate(x))\" y2=\"\(coordinate(y))\" "
            + "stroke=\"#000000\"/>\n" + text(x: x - 8, y: y + 4, label, anchor: "end")
    }

    static func text(x: Double, y: Double, _ content: String, anchor: String, size: Int? = nil) -> String {
        let sizeAttribute = size.map { " font-size=\"\($0)\"" } ?? ""
        return "<text x=\"\(coordinate(x))\" y=\"\(coordinate(y))\" text-anchor=\"\(anchor)\"\(sizeAttribute)>"
            + "\(escaped(content))</text>\n"
    }
}
