/// One view of a batch: images float32 [B, C, size, size] (channels-first, like PyTorch).
public struct ViewBatch: Equatable, Sendable {
    public var size: Int
    public var channels: Int
    /// [B * C * size * size].
    public var pixels: [Float]
    /// Per sample: where the view came from.
    public var geometry: [CropGeometry]
}

/// A batch from the loader: one `ViewBatch` per recipe view, plus labels and pack indices.
public struct Batch: Equatable, Sendable {
    public var epoch: Int
    /// Position of the batch in its epoch.
    public var index: Int
    /// Pack image index of each sample.
    public var sampleIndices: [Int]
    /// [B] labels, or empty when the split has none.
    public var labels: [Int32]
    public var views: [ViewBatch]
    public var count: Int { sampleIndices.count }
}
