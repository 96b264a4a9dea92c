import ArgumentParser
import Foundation
import Metrics

/// `patchbench coco-eval`: COCO box AP of a results file, printed as pycocotools prints it.
struct CocoEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coco-eval",
        abstract: "Compute COCO box AP/AR of a detections file, as pycocotools' COCOeval (bbox) does.",
        discussion: """
            Reads a COCO annotation file (images, categories, annotations with id, image_id, \
            category_id, bbox [x,y,w,h], area, iscrowd) and a COCO results file (a JSON list of \
            {image_id, category_id, bbox, score}) and prints the 12-line summary of \
            COCOeval.summarize(): AP over IoU .50:.05:.95, AP50, AP75, AP by area (small < 32², \
            medium < 96², large, by the annotation's `area` field), and AR at 1/10/100 detections \
            per image and by area. Crowd regions are ignored; -1 marks an undefined number. \
            Detections on image ids absent from the annotation file are an error.

            Example: patchbench coco-eval --gt instances_val.json --dt detections.json
            """)

    @Option(name: .customLong("gt"), help: "COCO annotation (ground-truth) JSON file.")
    var groundTruthPath: String

    @Option(name: .customLong("dt"), help: "COCO results JSON file: a list of {image_id, category_id, bbox, score}.")
    var detectionsPath: String

    @Flag(name: .customLong("json"), help: "Also print the 12 numbers as one JSON object (keys AP ... ARl).")
    var printJSON = false

    func run() throws {
        let groundTruth = try COCOFileReader.readGroundTruth(path: groundTruthPath)
        let detections = try COCOFileReader.readDetections(path: detectionsPath)
        let evaluation = try COCOEvaluator.evaluate(groundTruth: groundTruth, detections: detections,
                                                    detectionsFile: detectionsPath)
        for line in evaluation.summaryLines { print(line) }
        if printJSON {
            let stats = evaluation.stats
            let pairs = COCOEvaluation.statNames.indices.map { "\"\(COCOEvaluation.statNames[$0])\": \(stats[$0])" }
            print("{" + pairs.joined(separator: ", ") + "}")
        }
    }
}
