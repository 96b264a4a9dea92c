extension PackSplit {
    /// The images at `indices` (in that order) with their labels, masks, boxes and source ids: a
    /// seeded subset such as fine-tuning's stratified labelled budget.
    public func rows(_ indices: [Int]) -> PackSplit {
        precondition(!indices.isEmpty && indices.allSatisfy { $0 >= 0 && $0 < count }, "split rows must lie in 0..<\(count)")
        let n = imageElementCount, plane = height * width
        var images = [UInt8]()
        images.reserveCapacity(indices.count * n)
        for i in indices { images += self.images[(i * n)..<((i + 1) * n)] }
        var out = PackSplit(name: name, count: indices.count, height: height, width: width, channels: channels, images: images)
        out.labels = labels.map { all in indices.map { all[$0] } }
        out.coarseLabels = coarseLabels.map { all in indices.map { all[$0] } }
        out.sourceIds = sourceIds.map { all in indices.map { all[$0] } }
        out.masks = masks.map { all in indices.flatMap { all[($0 * plane)..<(($0 + 1) * plane)] } }
        if let b = boxes {
            var picked = PackBoxes()
            for i in indices {
                let r = b.range(ofImage: i)
                picked.appendImage(boxes: r.map { Array(b.boxes[($0 * 4)..<($0 * 4 + 4)]) }, classes: Array(b.classes[r]),
                                   crowd: Array(b.crowd[r]))
            }
            out.boxes = picked
        }
        return out
    }
}
