/// The serialised names of a pack (Documentation/pack-format.md). Datasets of one split live
/// in a group named after the split ("train", "test", "val"); the rest sit at the root.
public enum PackKeys {
    /// Version of the layout below; readers refuse packs of another version.
    public static let formatVersionValue: Int64 = 1

    // Per-split datasets: "<split>/<key>".
    /// uint8 [N, H, W, C], chunked, deflate.
    public static let images = "images"
    /// int32 [N]: class index 0..<num_classes (fine label for CIFAR-100).
    public static let labels = "labels"
    /// int32 [N]: CIFAR-100 coarse label 0..<20.
    public static let coarseLabels = "coarse_labels"
    /// uint8 [N, H, W]: class per pixel, 255 = ignore.
    public static let masks = "masks"
    /// int64 [N + 1]: boxes of image i are rows box_offsets[i] ..< box_offsets[i+1].
    public static let boxOffsets = "box_offsets"
    /// float32 [M, 4]: x1, y1, x2, y2 in pixels of the stored image (x2, y2 exclusive edges).
    public static let boxes = "boxes"
    /// int32 [M]: contiguous class index of each box.
    public static let boxClasses = "box_classes"
    /// uint8 [M]: 1 for COCO crowd regions, else 0.
    public static let boxCrowd = "box_crowd"
    /// int64 [N]: id of the source image each stored image came from (COCO image id, file index).
    public static let sourceIds = "source_ids"

    // Root datasets.
    /// uint8 [bytes]: class names as UTF-8, one per line, line i = class i.
    public static let classNames = "class_names"
    /// uint8 [bytes]: CIFAR-100 coarse class names, as `class_names`.
    public static let coarseClassNames = "coarse_class_names"
    /// int32 [K]: original dataset category id of contiguous class k (COCO ids 1..90).
    public static let categoryIds = "category_ids"

    // Root attributes.
    public static let formatVersion = "format_version"
    /// "cifar10-binary", "cifar100-python", "idx", "imagenet", "coco", "ade20k".
    public static let sourceFormat = "source_format"
    /// Newline-separated input files, relative to the input given to the converter.
    public static let sourceFiles = "source_files"
    /// JSON object (sorted keys) of the converter options that shaped the contents.
    public static let converterOptions = "converter_options"
    /// Comma-separated split names, sorted.
    public static let splits = "splits"
    /// int64: number of classes.
    public static let numClasses = "num_classes"
    /// Hex SHA-256 over the decoded contents (see PackDigest).
    public static let contentDigest = "content_digest"
    /// Human-readable notes about the conversion (e.g. "28x28 padded to 32x32, gray x3").
    public static let notes = "notes"
}
