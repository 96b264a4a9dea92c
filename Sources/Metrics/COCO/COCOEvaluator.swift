/// COCO box AP computed as pycocotools' `COCOeval(iouType='bbox')` does: `evaluate` (per image
/// and category greedy matching at each IoU threshold) then `accumulate` (precision envelope
/// sampled at 101 recall points). Array layouts and operation order follow the Python so the
/// numbers agree to rounding (see Tests/MetricsTests/COCOEvaluatorTests.swift).
public enum COCOEvaluator {
    /// Evaluates `detections` against `groundTruth`. Detections on an image id that the
    /// annotation file does not list throw (pycocotools asserts the same); detections or objects
    /// whose category is not listed are left out, as pycocotools' `getAnnIds(catIds:)` does.
    public static func evaluate(groundTruth: COCOGroundTruth, detections: [COCODetection],
                                parameters: COCOParameters = COCOParameters(),
                                detectionsFile: String = "detections") throws -> COCOEvaluation {
        if !parameters.useCategories {
            return try evaluate(groundTruth: pooled(groundTruth), detections: pooled(detections, categories: groundTruth.categoryIDs),
                                parameters: parameters.withCategories, detectionsFile: detectionsFile)
        }
        let imageIDs = Array(Set(groundTruth.imageIDs)).sorted()
        let categoryIDs = Array(Set(groundTruth.categoryIDs)).sorted()
        let imageIndex = Dictionary(uniqueKeysWithValues: imageIDs.enumerated().map { ($1, $0) })
        let categoryIndex = Dictionary(uniqueKeysWithValues: categoryIDs.enumerated().map { ($1, $0) })
        for (index, detection) in detections.enumerated() where imageIndex[detection.imageID] == nil {
            throw MetricsError.inconsistent(
                file: detectionsFile,
                reason: "[\(index)].image_id \(detection.imageID) is not an image of the annotation file")
        }
        let imageCount = imageIDs.count
        let categoryCount = categoryIDs.count
        // Groups per (category, image) in file order. Results get ids 1, 2, ... in file order.
        var objects = [[COCOAnnotation]](repeating: [], count: categoryCount * imageCount)
        for annotation in groundTruth.annotations {
            guard let i = imageIndex[annotation.imageID], let k = categoryIndex[annotation.categoryID] else { continue }
            objects[k * imageCount + i].append(annotation)
        }
        var candidates = [[(id: Int, detection: COCODetection)]](repeating: [], count: categoryCount * imageCount)
        for (index, detection) in detections.enumerated() {
            guard let k = categoryIndex[detection.categoryID] else { continue }
            let i = imageIndex[detection.imageID]!
            candidates[k * imageCount + i].append((index + 1, detection))
        }

        let maxDetection = parameters.maxDetections.last!
        var perImage = [ImageEvaluation?](repeating: nil, count: categoryCount * parameters.areaRanges.count * imageCount)
        for k in 0..<categoryCount {
            for i in 0..<imageCount {
                let gts = objects[k * imageCount + i]
                var dts = candidates[k * imageCount + i]
                if gts.isEmpty && dts.isEmpty { continue }
                let order = NumpyCompatibility.stableArgsortDescending(dts.map { $0.detection.score })
                dts = order.prefix(maxDetection).map { dts[$0] }
                let ious = COCOBoxIoU.matrix(detections: dts.map { $0.detection.box },
                                            objects: gts.map { $0.box }, isCrowd: gts.map { $0.isCrowd })
                for a in parameters.areaRanges.indices {
                    perImage[(k * parameters.areaRanges.count + a) * imageCount + i] = evaluateImage(
                        objects: gts, detections: dts, ious: ious, area: parameters.areaRanges[a],
                        iouThresholds: parameters.iouThresholds)
                }
            }
        }
        return accumulate(perImage: perImage, categoryCount: categoryCount, imageCount: imageCount,
                          categoryIDs: categoryIDs, parameters: parameters)
    }

    /// The one category of a class-agnostic evaluation (pycocotools' `catIds = [-1]`).
    static let pooledCategory = -1

    /// `useCats = 0`: pycocotools lists an image's objects (and detections) category by category
    /// in sorted category order, each in file order; the pooled lists keep that order, so score
    /// ties and IoU ties resolve as there. Objects of unlisted categories stay out, as before.
    static func pooled(_ groundTruth: COCOGroundTruth) -> COCOGroundTruth {
        let categories = Array(Set(groundTruth.categoryIDs)).sorted()
        let rank = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
        let listed = groundTruth.annotations.enumerated().filter { rank[$0.element.categoryID] != nil }
        let ordered = listed.sorted { (rank[$0.element.categoryID]!, $0.offset) < (rank[$1.element.categoryID]!, $1.offset) }
        return COCOGroundTruth(imageIDs: groundTruth.imageIDs, categoryIDs: [pooledCategory],
                               annotations: ordered.map { var a = $0.element; a.categoryID = pooledCategory; return a })
    }

    static func pooled(_ detections: [COCODetection], categories: [Int]) -> [COCODetection] {
        let rank = Dictionary(uniqueKeysWithValues: Array(Set(categories)).sorted().enumerated().map { ($1, $0) })
        let listed = detections.enumerated().filter { rank[$0.element.categoryID] != nil }
        let ordered = listed.sorted { (rank[$0.element.categoryID]!, $0.offset) < (rank[$1.element.categoryID]!, $1.offset) }
        return ordered.map { var d = $0.element; d.categoryID = pooledCategory; return d }
    }

    /// One (image, category, area range) after matching: pycocotools' `evaluateImg` dict.
    struct ImageEvaluation {
        /// Scores of the kept detections, best first.
        var scores: [Double]
        /// [T][D]: whether detection d matched an object at threshold t.
        var matched: [[Bool]]
        /// [T][D]: whether detection d is ignored at threshold t (matched a crowd/out-of-range
        /// object, or unmatched and itself outside the area range).
        var ignored: [[Bool]]
        /// [G]: objects ignored for this area range (crowd, or area outside the range).
        var objectIgnored: [Bool]
    }

    /// Greedy matching as `evaluateImg`: objects sorted so that non-ignored come first;
    /// each detection (best score first) takes the best-IoU object still free (crowds stay free),
    /// never trading a non-ignored match for an ignored one.
    static func evaluateImage(objects unsortedObjects: [COCOAnnotation],
                              detections: [(id: Int, detection: COCODetection)], ious unsortedIoUs: [[Double]],
                              area: (low: Double, high: Double), iouThresholds: [Double]) -> ImageEvaluation {
        let ignoreFlags = unsortedObjects.map { $0.isCrowd || $0.area < area.low || $0.area > area.high }
        // np.argsort(ignore, kind='mergesort'): stable, non-ignored first.
        let objectOrder = ignoreFlags.indices.filter { !ignoreFlags[$0] } + ignoreFlags.indices.filter { ignoreFlags[$0] }
        let objects = objectOrder.map { unsortedObjects[$0] }
        let objectIgnored = objectOrder.map { ignoreFlags[$0] }
        let thresholdCount = iouThresholds.count
        let detectionCount = detections.count
        var matchedObjectID = [[Int]](repeating: [Int](repeating: 0, count: detectionCount), count: thresholdCount)
        var ignored = [[Bool]](repeating: [Bool](repeating: false, count: detectionCount), count: thresholdCount)
        if !objects.isEmpty && detectionCount > 0 {
            for (t, threshold) in iouThresholds.enumerated() {
                var objectTaken = [Bool](repeating: false, count: objects.count)
                for d in 0..<detectionCount {
                    var best = min(threshold, 1 - 1e-10)
                    var match = -1
                    for g in objects.indices {
                        if objectTaken[g] && !objects[g].isCrowd { continue }
                        if match > -1 && !objectIgnored[match] && objectIgnored[g] { break }
                        let iou = unsortedIoUs[d][objectOrder[g]]
                        if iou < best { continue }
                        best = iou
                        match = g
                    }
                    if match == -1 { continue }
                    ignored[t][d] = objectIgnored[match]
                    // pycocotools stores the object's id and tests it for non-zero, so an object
                    // with id 0 never counts as matched; kept for exact agreement.
                    matchedObjectID[t][d] = objects[match].id
                    objectTaken[match] = true
                }
            }
        }
        let matched = matchedObjectID.map { row in row.map { $0 != 0 } }
        for d in 0..<detectionCount {
            let detectionArea = detections[d].detection.area
            let outside = detectionArea < area.low || detectionArea > area.high
            guard outside else { continue }
            for t in 0..<thresholdCount where !matched[t][d] { ignored[t][d] = true }
        }
        return ImageEvaluation(scores: detections.map { $0.detection.score }, matched: matched,
                               ignored: ignored, objectIgnored: objectIgnored)
    }

    /// `accumulate`: per category, area range and detection budget, pools the images,
    /// sorts by score (stable), and samples the precision envelope at the recall thresholds.
    static func accumulate(perImage: [ImageEvaluation?], categoryCount: Int, imageCount: Int,
                           categoryIDs: [Int], parameters: COCOParameters) -> COCOEvaluation {
        let T = parameters.iouThresholds.count
        let R = parameters.recallThresholds.count
        let K = categoryCount
        let A = parameters.areaRanges.count
        let M = parameters.maxDetections.count
        var precision = [Double](repeating: -1, count: T * R * K * A * M)
        var recall = [Double](repeating: -1, count: T * K * A * M)
        for k in 0..<K {
            for a in 0..<A {
                let images = (0..<imageCount).compactMap { perImage[(k * A + a) * imageCount + $0] }
                if images.isEmpty { continue }
                let nonIgnoredObjects = images.reduce(0) { $0 + $1.objectIgnored.filter { !$0 }.count }
                for (m, maxDetection) in parameters.maxDetections.enumerated() {
                    var scores: [Double] = []
                    var matched = [[Bool]](repeating: [], count: T)
                    var ignored = [[Bool]](repeating: [], count: T)
                    for image in images {
                        let kept = min(maxDetection, image.scores.count)
                        scores += image.scores[0..<kept]
                        for t in 0..<T {
                            matched[t] += image.matched[t][0..<kept]
                            ignored[t] += image.ignored[t][0..<kept]
                        }
                    }
                    if nonIgnoredObjects == 0 { continue }
                    let order = NumpyCompatibility.stableArgsortDescending(scores)
                    for t in 0..<T {
                        var truePositives = 0.0
                        var falsePositives = 0.0
                        var recallCurve: [Double] = []
                        var precisionCurve: [Double] = []
                        recallCurve.reserveCapacity(order.count)
                        precisionCurve.reserveCapacity(order.count)
                        for index in order {
                            if !ignored[t][index] {
                                if matched[t][index] { truePositives += 1 } else { falsePositives += 1 }
                            }
                            recallCurve.append(truePositives / Double(nonIgnoredObjects))
                            precisionCurve.append(
                                truePositives / (falsePositives + truePositives + NumpyCompatibility.spacingOfOne))
                        }
                        let count = order.count
                        recall[((t * K + k) * A + a) * M + m] = count > 0 ? recallCurve[count - 1] : 0
                        if count > 1 {
                            for i in stride(from: count - 1, to: 0, by: -1) where precisionCurve[i] > precisionCurve[i - 1] {
                                precisionCurve[i - 1] = precisionCurve[i]
                            }
                        }
                        for (r, threshold) in parameters.recallThresholds.enumerated() {
                            let position = NumpyCompatibility.searchSortedLeft(recallCurve, threshold)
                            // Past the end of the curve pycocotools leaves the rest at 0.
                            let value = position < count ? precisionCurve[position] : 0
                            precision[(((t * R + r) * K + k) * A + a) * M + m] = value
                        }
                    }
                }
            }
        }
        return COCOEvaluation(parameters: parameters, categoryIDs: categoryIDs,
                              precision: precision, recall: recall)
    }
}
