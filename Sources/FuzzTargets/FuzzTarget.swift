import Datasets
import Foundation
import Harness
import Results

/// The parsers of untrusted files, each as a fuzz target: bytes in, and either a value or an
/// error out. A thrown error is the parser doing its job; a trap, a stack overflow, a hang or
/// an unbounded allocation is a bug. Each target calls the same entry point that `convert`
/// (or the harness) uses on files, only on bytes in memory.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// IDX header and payload (IDXConverter.parseArray; the rank is taken from the header).
    case idx
    /// CIFAR-10 and CIFAR-100 binary records (CIFARConverter.decodeBatch, python: false).
    case cifarBinary = "cifar-binary"
    /// The pickle VM plus CIFAR's reading of its result (CIFARConverter.decodeBatch, python: true).
    case pickle
    /// Tar headers, sizes, long names, duplicates (TarArchive.read).
    case tar
    /// gzip / zlib streams, truncated and concatenated (Gzip.decompress).
    case gzip
    /// COCO instances JSON: categories, images, boxes, polygons, RLE (COCOConverter.checkAnnotationFile).
    case cocoJSON = "coco-json"
    /// PNG to RGB and to label values (ImageCodec.decodeRGB, decodeLabelPNG).
    case png
    /// JPEG through TurboJPEG, including CMYK (ImageCodec.decodeRGB).
    case jpeg
    /// Budget files (Harness Budget.parse: decoding and validation).
    case budgetJSON = "budget-json"
    /// results/claims.json (Results ClaimsLoader.parse against the method table).
    case claimsJSON = "claims-json"

    /// Where the committed seed inputs live, relative to the repository root.
    public var corpusFolder: String { "Fuzz/Corpus/\(rawValue)" }

    /// Settings for fast fuzzing: small image limits, so that a crafted 60000x60000 header is
    /// refused instead of decoded into gigabytes on every iteration.
    public static func prepareForFuzzing() {
        ImageCodec.maximumPixels = 1 << 22
    }

    /// Feeds one input to the target's parser; errors are expected and ignored.
    public func run(_ bytes: [UInt8]) {
        let file = "fuzz-input.\(rawValue)"
        switch self {
        case .idx:
            let rank = bytes.count > 3 ? Int(bytes[3]) : 1
            _ = try? IDXConverter.parseArray(bytes, file: file, expectedRank: rank)
        case .cifarBinary:
            _ = try? CIFARConverter.decodeBatch(bytes, file: file, variant: .cifar10, python: false)
            _ = try? CIFARConverter.decodeBatch(bytes, file: file, variant: .cifar100, python: false)
        case .pickle:
            _ = try? CIFARConverter.decodeBatch(bytes, file: file, variant: .cifar10, python: true)
            _ = try? CIFARConverter.decodeBatch(bytes, file: file, variant: .cifar100, python: true)
        case .tar:
            _ = try? TarArchive.read(bytes, file: file)
        case .gzip:
            _ = try? Gzip.decompress(bytes, file: file)
        case .cocoJSON:
            try? COCOConverter.checkAnnotationFile(bytes, file: file)
        case .png:
            _ = try? ImageCodec.decodeRGB(bytes, file: file)
            _ = try? ImageCodec.decodeLabelPNG(bytes, file: file)
        case .jpeg:
            _ = try? ImageCodec.decodeRGB(bytes, file: file)
        case .budgetJSON:
            _ = try? Budget.parse(Data(bytes), file: file)
        case .claimsJSON:
            _ = try? ClaimsLoader.parse(Data(bytes), file: file, implemented: Method.implemented)
        }
    }
}
