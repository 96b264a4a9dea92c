import Datasets
import Foundation
import Metrics

/// Which COCO area bins the det probe's APs/APm/APl use.
public enum DetectionAreaBins: String, CaseIterable, Sendable {
    /// COCO's pixel bins (32², 96²): right for boxes in the pixels of COCO's own images.
    case coco
    /// `COCOParameters.imageRelative`: (side/4)² and (side/2)² of the scored images.
    case imageRelative = "image-relative"

    /// The default for a pack: image-relative for the embedded dense scenes (a COCO-layout pack
    /// of the Fashion-MNIST classes, which only `make-default` writes), COCO's bins otherwise.
    public static func automatic(for pack: Pack) -> DetectionAreaBins {
        pack.sourceFormat == COCOConverter.formatName && pack.classNames == IDXConverter.fashionMNISTClassNames
            ? .imageRelative : .coco
    }

    public func parameters(imageWidth: Double, imageHeight: Double) -> COCOParameters {
        switch self {
        case .coco: return COCOParameters()
        case .imageRelative: return COCOParameters.imageRelative(width: imageWidth, height: imageHeight)
        }
    }
}

/// The numbers of eval/det.json: COCO box AP per class (AP50 first: the headline, since the
/// det probe's frozen linear head localises to a 4 px token and the stricter thresholds of AP
/// mostly measure box jitter), APs/APm/APl in the chosen bins, and the class-agnostic AP and
/// AP50: whether objects are found, whatever their class. All in percent; −1 where undefined
/// (no object in a bin), which the Results module never averages.
public enum DetectionReport {
    public static let classAgnosticKeys = ["AP50_agnostic", "AP_agnostic"]
    /// How the class-agnostic keys are scored (the det protocol's `agnostic`).
    public static let classAgnosticRule = "class-agnostic NMS at nms_iou over each image's detections, then pycocotools useCats = 0"

    /// The class-agnostic keys first keep one box per place: the probe decodes a token's box
    /// once per class and suppresses within a class only, so pooled as they are its extra class
    /// copies of a found object would count as false positives (an exact detector scored about
    /// 65 AP50 that way). `agnosticIoU` is the probe's NMS threshold.
    public static func metrics(groundTruth: COCOGroundTruth, detections: [COCODetection],
                               parameters: COCOParameters, agnosticIoU: Double) throws -> [String: Double] {
        var result = try COCOEvaluator.evaluate(groundTruth: groundTruth, detections: detections, parameters: parameters).record
        var pooled = parameters
        pooled.useCategories = false
        let agnostic = try COCOEvaluator.evaluate(groundTruth: groundTruth,
                                                  detections: classAgnostic(detections, iouThreshold: agnosticIoU),
                                                  parameters: pooled).record
        result["AP50_agnostic"] = agnostic["AP50"]!
        result["AP_agnostic"] = agnostic["AP"]!
        return result
    }

    /// NMS over each image's detections whatever their class; the kept ones in their input order.
    static func classAgnostic(_ detections: [COCODetection], iouThreshold: Double) -> [COCODetection] {
        var images: [Int] = []
        var indices: [Int: [Int]] = [:]  // lookup only; images keeps the order
        for (i, detection) in detections.enumerated() {
            if indices[detection.imageID] == nil { images.append(detection.imageID) }
            indices[detection.imageID, default: []].append(i)
        }
        var kept = [Bool](repeating: false, count: detections.count)
        for image in images {
            let members = indices[image]!
            for k in NonMaximumSuppression.keep(boxes: members.map { detections[$0].box }, scores: members.map { detections[$0].score },
                                                iouThreshold: iouThreshold) {
                kept[members[k]] = true
            }
        }
        return detections.indices.filter { kept[$0] }.map { detections[$0] }
    }

    /// The protocol entry describing the bins (name and thresholds in pixels²).
    public static func protocolSettings(_ bins: DetectionAreaBins, parameters: COCOParameters) -> ProtocolValue {
        .object(["name": .string(bins.rawValue),
                 "small_below": .number(parameters.areaRanges[1].high),
                 "large_above": .number(parameters.areaRanges[3].low)])
    }
}
