import Foundation

/// One ground-truth object of a detection image: box [x, y, width, height] in pixels,
/// class index in 0..<classes, crowd flag (crowd regions are neither positives nor negatives).
public struct DetectionObject: Sendable, Equatable {
    public var box: [Double]
    public var classIndex: Int
    public var isCrowd: Bool
    public init(box: [Double], classIndex: Int, isCrowd: Bool = false) {
        precondition(box.count == 4, "a box is [x, y, width, height]")
        self.box = box
        self.classIndex = classIndex
        self.isCrowd = isCrowd
    }
}

/// Geometry of the token grid over the image: token (gy, gx) covers
/// [gx·strideX, (gx+1)·strideX) × [gy·strideY, (gy+1)·strideY).
public struct DetectionGeometry: Sendable, Equatable {
    public var gridHeight: Int, gridWidth: Int
    public var imageHeight: Double, imageWidth: Double
    public init(gridHeight: Int, gridWidth: Int, imageHeight: Double, imageWidth: Double) {
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
    }
    public var strideY: Double { imageHeight / Double(gridHeight) }
    public var strideX: Double { imageWidth / Double(gridWidth) }
}

/// Assignment of one image's objects to tokens: CenterNet's centre token, optionally widened by
/// FCOS's centre sampling.
///
/// With `centerRadius` r = 0 each non-crowd object owns only the token containing its box
/// centre. With r > 0 it also owns every token whose centre lies inside the box and within
/// r strides of the box centre on both axes (FCOS's `center_sampling_radius`, 1.5 there): a
/// linear head cannot tell the centre token from its neighbours, which show the same object,
/// so training them as background taught it to score every object token low. When several
/// objects claim a token the smallest box wins (the earlier one on equal areas), as in FCOS.
/// The regression target of a positive token (gx, gy) is (cx/sx − gx, cy/sy − gy, log(w/sx),
/// log(h/sy)): the centre's offset from the token's corner and the log size in strides.
/// Tokens whose centre lies inside a crowd box and that are not positive are ignored by the
/// classification loss.
public struct DetectionTargets: Sendable, Equatable {
    /// [gh·gw]: class index, `classes` for background.
    public var classes: [Int]
    /// [gh·gw]: false where the token is ignored (crowd).
    public var counted: [Bool]
    /// [gh·gw, 4]: regression targets (0 at non-positive tokens).
    public var regression: [Double]

    public init(objects: [DetectionObject], geometry: DetectionGeometry, classCount: Int, centerRadius: Double = 0) {
        precondition(centerRadius >= 0, "the centre-sampling radius is a non-negative number of strides")
        let tokens = geometry.gridHeight * geometry.gridWidth
        classes = [Int](repeating: classCount, count: tokens)
        counted = [Bool](repeating: true, count: tokens)
        regression = [Double](repeating: 0, count: tokens * 4)
        var ownerArea = [Double](repeating: .infinity, count: tokens)
        let sx = geometry.strideX, sy = geometry.strideY
        for object in objects where !object.isCrowd {
            let (x, y, w, h) = (object.box[0], object.box[1], object.box[2], object.box[3])
            guard w > 0, h > 0 else { continue }
            let cx = x + w / 2, cy = y + h / 2
            let centreX = min(max(Int((cx / sx).rounded(.down)), 0), geometry.gridWidth - 1)
            let centreY = min(max(Int((cy / sy).rounded(.down)), 0), geometry.gridHeight - 1)
            var owned = [(centreX, centreY)]
            if centerRadius > 0 {
                for gy in 0..<geometry.gridHeight {
                    for gx in 0..<geometry.gridWidth where gx != centreX || gy != centreY {
                        let tx = (Double(gx) + 0.5) * sx, ty = (Double(gy) + 0.5) * sy
                        let insideBox = tx > x && tx < x + w && ty > y && ty < y + h
                        let nearCentre = abs(tx - cx) < centerRadius * sx && abs(ty - cy) < centerRadius * sy
                        if insideBox && nearCentre { owned.append((gx, gy)) }
                    }
                }
            }
            for (gx, gy) in owned {
                let t = gy * geometry.gridWidth + gx
                guard w * h < ownerArea[t] else { continue }
                ownerArea[t] = w * h
                classes[t] = object.classIndex
                regression[t * 4 + 0] = cx / sx - Double(gx)
                regression[t * 4 + 1] = cy / sy - Double(gy)
                regression[t * 4 + 2] = Foundation.log(w / sx)
                regression[t * 4 + 3] = Foundation.log(h / sy)
            }
        }
        for object in objects where object.isCrowd {
            for gy in 0..<geometry.gridHeight {
                for gx in 0..<geometry.gridWidth {
                    let t = gy * geometry.gridWidth + gx
                    let cx = (Double(gx) + 0.5) * sx, cy = (Double(gy) + 0.5) * sy
                    let inside = cx >= object.box[0] && cx <= object.box[0] + object.box[2]
                        && cy >= object.box[1] && cy <= object.box[1] + object.box[3]
                    if inside && classes[t] == classCount { counted[t] = false }
                }
            }
        }
    }
}
