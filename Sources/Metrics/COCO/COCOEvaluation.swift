import Foundation

/// The accumulated precision/recall arrays of a COCO evaluation and their 12-number summary.
public struct COCOEvaluation: Sendable {
    public let parameters: COCOParameters
    public let categoryIDs: [Int]
    /// [T, R, K, A, M] row-major, -1 where a category has no non-ignored object in that range.
    public let precision: [Double]
    /// [T, K, A, M] row-major, -1 likewise.
    public let recall: [Double]

    /// One summary number: `np.mean` of the entries > -1 of the selected slice, -1 when none.
    /// `averagePrecision` false gives average recall. `iouThreshold` nil averages all thresholds.
    public func summarize(averagePrecision: Bool, iouThreshold: Double? = nil, area: String = "all",
                          maxDetections: Int = 100) -> Double {
        let T = parameters.iouThresholds.count
        let R = parameters.recallThresholds.count
        let K = categoryIDs.count
        let A = parameters.areaRanges.count
        let M = parameters.maxDetections.count
        let thresholds = (0..<T).filter { iouThreshold == nil || parameters.iouThresholds[$0] == iouThreshold! }
        guard let a = parameters.areaLabels.firstIndex(of: area),
              let m = parameters.maxDetections.firstIndex(of: maxDetections) else { return -1 }
        var values: [Double] = []
        for t in thresholds {
            if averagePrecision {
                for r in 0..<R {
                    for k in 0..<K {
                        let value = precision[(((t * R + r) * K + k) * A + a) * M + m]
                        if value > -1 { values.append(value) }
                    }
                }
            } else {
                for k in 0..<K {
                    let value = recall[((t * K + k) * A + a) * M + m]
                    if value > -1 { values.append(value) }
                }
            }
        }
        return values.isEmpty ? -1 : NumpyCompatibility.mean(values)
    }

    /// The 12 numbers of `COCOeval.summarize()` for boxes, in its order:
    /// AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (fractions in 0...1, or -1).
    public var stats: [Double] { Self.summaryRows.map { summarize(row: $0) } }

    /// The summary as pycocotools prints it, one line per number.
    public var summaryLines: [String] {
        Self.summaryRows.map { row in
            let value = summarize(row: row)
            let title = row.averagePrecision ? "Average Precision" : "Average Recall"
            let kind = row.averagePrecision ? "(AP)" : "(AR)"
            let iou = row.iou.map { String(format: "%0.2f", $0) }
                ?? String(format: "%0.2f:%0.2f", parameters.iouThresholds.first!, parameters.iouThresholds.last!)
            // ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
            return " " + pad(title, 18) + " " + kind + " @[ IoU=" + pad(iou, 9) + " | area="
                + padLeft(row.area, 6) + " | maxDets=" + padLeft(String(row.maxDetections), 3) + " ] = "
                + String(format: "%0.3f", value)
        }
    }

    /// The metrics of eval/det.json: AP, AP50, AP75, APs, APm, APl in percent (-1 stays -1).
    public var record: [String: Double] {
        let values = stats
        return Dictionary(uniqueKeysWithValues: (0..<6).map {
            (Self.statNames[$0], values[$0] < 0 ? values[$0] : values[$0] * 100)
        })
    }

    /// Summary keys in `stats` order, as used in metrics files.
    public static let statNames = ["AP", "AP50", "AP75", "APs", "APm", "APl",
                                   "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]

    struct SummaryRow {
        var averagePrecision: Bool
        var iou: Double?
        var area: String
        var maxDetections: Int
    }

    static let summaryRows: [SummaryRow] = [
        SummaryRow(averagePrecision: true, iou: nil, area: "all", maxDetections: 100),
        SummaryRow(averagePrecision: true, iou: 0.5, area: "all", maxDetections: 100),
        SummaryRow(averagePrecision: true, iou: 0.75, area: "all", maxDetections: 100),
        SummaryRow(averagePrecision: true, iou: nil, area: "small", maxDetections: 100),
        SummaryRow(averagePrecision: true, iou: nil, area: "medium", maxDetections: 100),
        SummaryRow(averagePrecision: true, iou: nil, area: "large", maxDetections: 100),
        SummaryRow(averagePrecision: false, iou: nil, area: "all", maxDetections: 1),
        SummaryRow(averagePrecision: false, iou: nil, area: "all", maxDetections: 10),
        SummaryRow(averagePrecision: false, iou: nil, area: "all", maxDetections: 100),
        SummaryRow(averagePrecision: false, iou: nil, area: "small", maxDetections: 100),
        SummaryRow(averagePrecision: false, iou: nil, area: "medium", maxDetections: 100),
        SummaryRow(averagePrecision: false, iou: nil, area: "large", maxDetections: 100),
    ]

    func summarize(row: SummaryRow) -> Double {
        summarize(averagePrecision: row.averagePrecision, iouThreshold: row.iou, area: row.area,
                  maxDetections: row.maxDetections)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
