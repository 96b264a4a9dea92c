extension PackSplit {
    /// The first `n` images of the split with their labels, masks, boxes and source ids —
    /// a deterministic subset for quick evaluations (the smoke regression). `n` ≥ count
    /// returns the split unchanged.
    public func prefix(_ n: Int) -> PackSplit {
        precondition(n > 0, "a split prefix needs at least one image")
        guard n < count else { return self }
        var out = PackSplit(name: name, count: n, height: height, width: width, channels: channels,
                            images: Array(images[0..<(n * imageElementCount)]))
        out.labels = labels.map { Array($0[0..<n]) }
        out.coarseLabels = coarseLabels.map { Array($0[0..<n]) }
        out.masks = masks.map { Array($0[0..<(n * height * width)]) }
        out.sourceIds = sourceIds.map { Array($0[0..<n]) }
        if let b = boxes {
            let end = Int(b.offsets[n])
            out.boxes = PackBoxes(offsets: Array(b.offsets[0...n]), boxes: Array(b.boxes[0..<(end * 4)]),
                                  classes: Array(b.classes[0..<end]), crowd: Array(b.crowd[0..<end]))
        }
        return out
    }
}
