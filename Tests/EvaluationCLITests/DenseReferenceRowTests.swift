import Datasets
import Evaluation
import Foundation
import Metrics
import Testing

/// The dense probes' reference rows: the raw-pixel token grid and the constant-class floor.
@Suite struct DenseReferenceRowTests {
    @Test func rawPixelGridHoldsEachPatchsPixelsInChannelRowColumnOrder() throws {
        // One 8×8×3 image whose value encodes (y, x, c); identity normalisation.
        var pixels: [UInt8] = []
        for y in 0..<8 { for x in 0..<8 { for c in 0..<3 { pixels.append(UInt8(y * 24 + x * 3 + c)) } } }
        let identity = ImageNormalization(name: "identity", mean: [0, 0, 0], std: [1, 1, 1])
        let grid = try RawPixelGrid.extract(images: pixels + pixels, count: 2, height: 8, width: 8, channels: 3,
                                            patchSize: 4, normalization: identity)
        #expect(grid.shape == [2, 2, 2, 48])
        #expect(grid.gridShape == TokenGridShape(count: 2, gridHeight: 2, gridWidth: 2, dimension: 48))
        // Token (gy 1, gx 0) of image 1, value (c 2, y 3, x 1) is pixel (y 7, x 1, c 2).
        let token = ((1 * 2 + 1) * 2 + 0) * 48
        #expect(grid.values[token + (2 * 4 + 3) * 4 + 1] == Float(7 * 24 + 1 * 3 + 2) / 255)
        #expect(throws: EvaluationError.self) {
            try RawPixelGrid.extract(images: pixels, count: 1, height: 8, width: 8, channels: 3, patchSize: 3,
                                     normalization: identity)
        }
    }

    @Test func greyChannelsAreFoundAndReducedToChannelZero() {
        let grey: [UInt8] = [7, 7, 7, 0, 0, 0, 255, 255, 255]
        #expect(GreyChannels.areCopies(grey, channels: 3))
        #expect(GreyChannels.firstChannel(grey, channels: 3) == [7, 0, 255])
        #expect(!GreyChannels.areCopies([7, 7, 7, 0, 0, 1], channels: 3))
        #expect(!GreyChannels.areCopies([7, 7, 8, 0, 0, 0], channels: 3))
        #expect(GreyChannels.areCopies([1, 2, 3], channels: 1))
        #expect(ImageNormalization.imagenet.channel(2) == ImageNormalization(name: "imagenet", mean: [0.406], std: [0.225]))
    }

    @Test func rawPixelsRunTheDenseProbes() throws {
        let directory = try TemporaryDirectory()
        let segPack = directory.file("seg.h5"), detPack = directory.file("det.h5")
        try SyntheticData.segmentationPack(at: segPack)
        try SyntheticData.detectionPack(at: detPack)
        var seg = EvalOptions(probe: .seg, dataPath: segPack, seed: 0)
        seg.segmentation.epochs = 5
        let segRecord = try EvalProtocol.run(seg, source: .rawPixels).record
        #expect(segRecord.encoder.method == "raw-pixels")
        #expect(segRecord.settings["feature_kind"] == .string("raw-pixels-grid:p4"))
        #expect(segRecord.settings["feature_shape"] == .list([.integer(4), .integer(4), .integer(48)]))
        // The halves differ in colour: pixels alone separate them.
        #expect(segRecord.metrics["aAcc"]! > 70, "\(segRecord.metrics)")
        var det = EvalOptions(probe: .det, dataPath: detPack, seed: 0)
        det.rawPatchSize = 8
        let detRecord = try EvalProtocol.run(det, source: .rawPixels).record
        #expect(detRecord.settings["feature_shape"] == .list([.integer(2), .integer(2), .integer(192)]))
        #expect(detRecord.metrics.keys.sorted() == ["AP", "AP50", "AP50_agnostic", "AP75", "AP_agnostic", "APl", "APm", "APs"])
    }

    /// Train masks hold class 1 most often; the test image's 3 labelled pixels are 1, 0 and 2.
    @Test func constantClassSegFloorEqualsTheHandComputedValue() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("tiny-seg.h5")
        var contents = PackContents(sourceFormat: "ade20k", sourceFiles: ["synthetic"], options: [:], classNames: ["a", "b", "c"])
        var train = PackSplit(name: "train", count: 2, height: 2, width: 2, channels: 3, images: [UInt8](repeating: 0, count: 24))
        train.masks = [0, 0, 1, 255, 1, 1, 1, 2]
        var val = PackSplit(name: "val", count: 1, height: 2, width: 2, channels: 3, images: [UInt8](repeating: 0, count: 12))
        val.masks = [1, 0, 255, 2]
        contents.add(train)
        contents.add(val)
        try contents.write(to: path)
        let record = try EvalProtocol.runConstantClass(EvalOptions(probe: .seg, dataPath: path, seed: 0)).record
        #expect(record.encoder.method == "constant-class" && record.encoder.configHash == "none")
        #expect(record.settings["encoder_source"] == .string("constant-class"))
        #expect(record.settings["constant_class"] == .integer(1))
        // Predicted 1 at the 3 labelled pixels: aAcc 1/3; IoU (0, 1/3, 0) over classes 0, 1, 2.
        #expect(abs(record.metrics["aAcc"]! - 100.0 / 3) < 1e-9)
        #expect(abs(record.metrics["mIoU"]! - 100.0 / 9) < 1e-9)
        #expect(throws: EvaluationError.self) { try EvalProtocol.runConstantClass(EvalOptions(probe: .linear, dataPath: path, seed: 0)) }
    }

    @Test func constantClassDetFloorUsesPerClassMeanBoxesAndShares() throws {
        let objects: [[DetectionObject]] = [
            [DetectionObject(box: [0, 0, 4, 4], classIndex: 0), DetectionObject(box: [4, 4, 8, 8], classIndex: 0)],
            [DetectionObject(box: [2, 2, 2, 2], classIndex: 1),
             DetectionObject(box: [9, 9, 9, 9], classIndex: 1, isCrowd: true)],
        ]
        let priors = ConstantClassFloor.classPriors(objects: objects, classes: 3)
        #expect(priors[0]!.box == [2, 2, 6, 6] && abs(priors[0]!.share - 2.0 / 3) < 1e-12)
        #expect(priors[1]!.box == [2, 2, 2, 2] && abs(priors[1]!.share - 1.0 / 3) < 1e-12)
        #expect(priors[2] == nil)
        let detections = ConstantClassFloor.detections(priors: priors, imageCount: 2)
        #expect(detections.map(\.imageID) == [1, 1, 2, 2] && detections.map(\.categoryID) == [1, 2, 1, 2])

        let directory = try TemporaryDirectory()
        let detPack = directory.file("det.h5")
        try SyntheticData.detectionPack(at: detPack)
        let record = try EvalProtocol.runConstantClass(EvalOptions(probe: .det, dataPath: detPack, seed: 0)).record
        #expect(record.metrics.keys.sorted() == ["AP", "AP50", "AP50_agnostic", "AP75", "AP_agnostic", "APl", "APm", "APs"])
        #expect(record.metrics.values.allSatisfy { $0 == -1 || ($0 >= 0 && $0 <= 100) })
        // Not the embedded scenes: COCO's pixel bins.
        #expect(record.settings["area_bins"] == .object(["name": .string("coco"), "small_below": .number(1024),
                                                          "large_above": .number(9216)]))
    }

    /// Train labels 0, 1, 2, 0, 1 (the first five): classes 0 and 1 tie, the lower wins; 10 of the
    /// 30 test images are class 0.
    @Test func constantClassFloorOfTheClassificationProbesIsTheMajorityLabelsShare() throws {
        let directory = try TemporaryDirectory()
        let pack = directory.file("cls.h5")
        _ = try SyntheticData.classificationPack(at: pack)
        for probe in [EvalProbe.linear, .knn] {
            var options = EvalOptions(probe: probe, dataPath: pack, seed: 0)
            options.input.trainLimit = 5
            let record = try EvalProtocol.runConstantClass(options).record
            #expect(record.settings["constant_class"] == .integer(0))
            #expect(!record.metrics.isEmpty && record.metrics.values.allSatisfy { abs($0 - 100.0 / 3) < 1e-9 }, "\(record.metrics)")
            #expect(record.encoder.method == "constant-class")
        }
        var options = EvalOptions(probe: .knn, dataPath: pack, seed: 0)
        options.input.trainLimit = 6   // 0, 1, 2, 0, 1, 2: still a tie, still class 0
        options.input.testLimit = 2    // test labels 0, 1
        #expect(try EvalProtocol.runConstantClass(options).record.metrics.values.allSatisfy { $0 == 50 })
    }
}
