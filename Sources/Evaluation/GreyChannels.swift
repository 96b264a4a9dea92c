/// Grey packs seen by the raw-pixel rows. A converter that gives grey images the ViT's three
/// channels (Fashion-MNIST's default pack and its scenes: "replicated to 3 channels") stores every
/// pixel three times. Read as raw-pixel features those copies add width and no information: at
/// 3 × 1,024 values the linear probe's fit lost its preconditioner (wider than
/// `LinearProbe.Configuration.preconditionerMaxDimension`) and ran every fit of its sweep to the
/// iteration cap. The raw-pixel rows therefore read channel 0 of a pack whose channels are copies.
public enum GreyChannels {
    /// Whether every pixel of images uint8 [N, H, W, C] holds the same value in all C channels
    /// (true for C = 1).
    public static func areCopies(_ images: [UInt8], channels: Int) -> Bool {
        precondition(channels > 0 && images.count % channels == 0, "images must be [N, H, W, C]")
        guard channels > 1 else { return true }
        return images.withUnsafeBufferPointer { values in
            var pixel = 0
            while pixel < values.count {
                for c in 1..<channels where values[pixel + c] != values[pixel] { return false }
                pixel += channels
            }
            return true
        }
    }

    /// images uint8 [N, H, W, C] → their channel 0, [N, H, W, 1].
    public static func firstChannel(_ images: [UInt8], channels: Int) -> [UInt8] {
        precondition(channels > 0 && images.count % channels == 0, "images must be [N, H, W, C]")
        return (0..<(images.count / channels)).map { images[$0 * channels] }
    }
}
