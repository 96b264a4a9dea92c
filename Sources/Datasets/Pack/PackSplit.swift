/// Ragged boxes of a split: image i owns rows offsets[i] ..< offsets[i+1] of the box arrays.
public struct PackBoxes: Equatable {
    /// [N + 1], offsets[0] == 0, non-decreasing.
    public var offsets: [Int64]
    /// [M * 4]: x1, y1, x2, y2 per box, in pixels of the stored image.
    public var boxes: [Float]
    /// [M]: contiguous class index.
    public var classes: [Int32]
    /// [M]: 1 = crowd.
    public var crowd: [UInt8]

    public init(offsets: [Int64] = [0], boxes: [Float] = [], classes: [Int32] = [], crowd: [UInt8] = []) {
        self.offsets = offsets
        self.boxes = boxes
        self.classes = classes
        self.crowd = crowd
    }

    public var boxCount: Int { classes.count }

    /// Appends the boxes of the next image.
    public mutating func appendImage(boxes newBoxes: [[Float]], classes newClasses: [Int32], crowd newCrowd: [UInt8]) {
        precondition(newBoxes.count == newClasses.count && newClasses.count == newCrowd.count)
        for box in newBoxes {
            precondition(box.count == 4, "a box is x1, y1, x2, y2")
            boxes.append(contentsOf: box)
        }
        classes.append(contentsOf: newClasses)
        crowd.append(contentsOf: newCrowd)
        offsets.append(Int64(classes.count))
    }

    /// Box rows of image `index`.
    public func range(ofImage index: Int) -> Range<Int> { Int(offsets[index])..<Int(offsets[index + 1]) }
}

/// One split of a pack in memory. Images are uint8 [count, height, width, channels].
public struct PackSplit: Equatable {
    public var name: String
    public var count: Int
    public var height: Int
    public var width: Int
    public var channels: Int
    /// [count * height * width * channels], HWC per image.
    public var images: [UInt8]
    /// [count] or nil when the source has no labels.
    public var labels: [Int32]?
    public var coarseLabels: [Int32]?
    /// [count * height * width], 255 = ignore.
    public var masks: [UInt8]?
    public var boxes: PackBoxes?
    /// [count]: the source image each stored image came from.
    public var sourceIds: [Int64]?

    public init(name: String, count: Int, height: Int, width: Int, channels: Int, images: [UInt8]) {
        precondition(images.count == count * height * width * channels, "images must be [N, H, W, C]")
        self.name = name
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.images = images
    }

    public var imageElementCount: Int { height * width * channels }

    /// The pixels of image `index`, HWC.
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        images[(index * imageElementCount)..<((index + 1) * imageElementCount)]
    }

    /// The datasets of this split under "<name>/".
    func packArrays() -> [String: PackArray] {
        var arrays: [String: PackArray] = [
            "\(name)/\(PackKeys.images)": .uint8(images, shape: [count, height, width, channels])
        ]
        if let labels { arrays["\(name)/\(PackKeys.labels)"] = .int32(labels, shape: [count]) }
        if let coarseLabels { arrays["\(name)/\(PackKeys.coarseLabels)"] = .int32(coarseLabels, shape: [count]) }
        if let masks { arrays["\(name)/\(PackKeys.masks)"] = .uint8(masks, shape: [count, height, width]) }
        if let sourceIds { arrays["\(name)/\(PackKeys.sourceIds)"] = .int64(sourceIds, shape: [count]) }
        if let boxes {
            arrays["\(name)/\(PackKeys.boxOffsets)"] = .int64(boxes.offsets, shape: [count + 1])
            arrays["\(name)/\(PackKeys.boxes)"] = .float32(boxes.boxes, shape: [boxes.boxCount, 4])
            arrays["\(name)/\(PackKeys.boxClasses)"] = .int32(boxes.classes, shape: [boxes.boxCount])
            arrays["\(name)/\(PackKeys.boxCrowd)"] = .uint8(boxes.crowd, shape: [boxes.boxCount])
        }
        return arrays
    }

    /// Checks internal consistency; `file` names the pack or source in the error.
    func validate(numClasses: Int, file: String) throws {
        func check(_ condition: Bool, _ problem: @autoclosure () -> String) throws {
            if !condition { throw DatasetError(file, "split '\(name)': \(problem())") }
        }
        try check(images.count == count * imageElementCount, "images hold \(images.count) bytes, expected \(count)x\(height)x\(width)x\(channels)")
        if let labels {
            try check(labels.count == count, "\(labels.count) labels for \(count) images")
            if let bad = labels.first(where: { $0 < 0 || Int($0) >= numClasses }) {
                try check(false, "label \(bad) outside 0..<\(numClasses)")
            }
        }
        if let coarseLabels { try check(coarseLabels.count == count, "\(coarseLabels.count) coarse labels for \(count) images") }
        if let masks {
            try check(masks.count == count * height * width, "masks hold \(masks.count) bytes, expected \(count)x\(height)x\(width)")
            if let bad = masks.first(where: { $0 != 255 && Int($0) >= numClasses }) {
                try check(false, "mask value \(bad) outside 0..<\(numClasses) and not 255")
            }
        }
        if let sourceIds { try check(sourceIds.count == count, "\(sourceIds.count) source ids for \(count) images") }
        if let boxes {
            try check(boxes.offsets.count == count + 1 && boxes.offsets.first == 0, "box offsets must have N+1 entries from 0")
            try check(zip(boxes.offsets, boxes.offsets.dropFirst()).allSatisfy { $0 <= $1 }, "box offsets decrease")
            try check(boxes.offsets.last.map(Int.init) == boxes.boxCount, "box offsets end at \(boxes.offsets.last ?? -1), not \(boxes.boxCount)")
            try check(boxes.boxes.count == 4 * boxes.boxCount && boxes.crowd.count == boxes.boxCount, "box arrays disagree in length")
            if let bad = boxes.classes.first(where: { $0 < 0 || Int($0) >= numClasses }) {
                try check(false, "box class \(bad) outside 0..<\(numClasses)")
            }
        }
    }
}
