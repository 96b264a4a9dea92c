import CPNG
import CTurboJPEG
import PNGRead
import Foundation

/// A decoded 8-bit image, HWC.
public struct DecodedImage: Equatable {
    public var height: Int
    public var width: Int
    public var channels: Int
    public var pixels: [UInt8]
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == height * width * channels, "pixels must be [H, W, C]")
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
    }
}

/// JPEG (TurboJPEG) and PNG (libpng's full read API, in the PNGRead C target) decoding, chosen by
/// magic bytes rather than the file extension (ImageNet has a PNG named .JPEG). Output matches
/// Pillow's `Image.open(f).convert("RGB")`: accurate IDCT and fancy upsampling (flags 0),
/// grayscale replicated, Adobe CMYK inverted as Pillow does, no EXIF rotation; PNG gamma (gAMA)
/// is not applied and alpha is dropped without compositing, as Pillow does.
public enum ImageCodec {
    /// Largest image accepted (268 M pixels, far above any photo in the data sets), so that a
    /// crafted header cannot make the decoder allocate tens of gigabytes. The fuzz targets lower
    /// it, so that each input decodes in milliseconds.
    public static var maximumPixels = 1 << 28

    static let jpegMagic: [UInt8] = [0xFF, 0xD8, 0xFF]
    static let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47]

    /// Decodes a file to RGB (3 channels).
    public static func decodeRGB(file path: String) throws -> DecodedImage {
        try decodeRGB(try readFileBytes(path), file: path)
    }

    public static func decodeRGB(_ bytes: [UInt8], file: String) throws -> DecodedImage {
        if bytes.starts(with: jpegMagic) { return try decodeJPEG(bytes, file: file) }
        if bytes.starts(with: pngMagic) { return try decodePNG(bytes, file: file, gray: false) }
        throw DatasetError(file, "not a JPEG or PNG file (magic \(bytes.prefix(4).map { String(format: "%02x", $0) }.joined()))")
    }

    static func decodeJPEG(_ bytes: [UInt8], file: String) throws -> DecodedImage {
        guard let handle = tjInitDecompress() else { throw DatasetError(file, "TurboJPEG initialisation failed") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        var input = bytes
        let headerStatus = tjDecompressHeader3(handle, &input, UInt(input.count), &width, &height, &subsampling, &colorspace)
        guard headerStatus == 0, width > 0, height > 0 else {
            throw DatasetError(file, "corrupt JPEG header (\(String(cString: tjGetErrorStr2(handle))))")
        }
        guard Int(width) * Int(height) <= maximumPixels else {
            throw DatasetError(file, "JPEG header says \(width)x\(height) pixels, above the limit of \(maximumPixels)")
        }
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = cmyk ? 4 : 3
        var output = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
        let format = cmyk ? TJPF_CMYK : TJPF_RGB
        // Flags 0, as Pillow decodes: libjpeg's recoverable warnings (extraneous bytes before a
        // marker, a bad Huffman code, both present in COCO 2017) keep the image, with the pixels
        // Pillow gives. A truncated file stays an error, as Pillow refuses it ("image file is
        // truncated") unless told to load truncated images.
        let status = tjDecompress2(handle, &input, UInt(input.count), &output, width, 0, height, Int32(format.rawValue), 0)
        if status != 0 {
            let message = String(cString: tjGetErrorStr2(handle))
            let recoverable = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) && !message.contains("Premature end")
            guard recoverable else { throw DatasetError(file, "corrupt or truncated JPEG (\(message))") }
        }
        guard cmyk else { return DecodedImage(height: Int(height), width: Int(width), channels: 3, pixels: output) }
        // Pillow's CMYK -> RGB on Adobe (inverted) data: R = K' - muldiv255(255 - C', K').
        func muldiv255(_ a: Int, _ b: Int) -> Int {
            let t = a * b + 128
            return ((t >> 8) + t) >> 8
        }
        let count = Int(width) * Int(height)
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let k = Int(output[4 * i + 3])
            for c in 0..<3 { rgb[3 * i + c] = UInt8(clamping: k - muldiv255(255 - Int(output[4 * i + c]), k)) }
        }
        return DecodedImage(height: Int(height), width: Int(width), channels: 3, pixels: rgb)
    }

    /// Decodes a PNG to RGB, or (`gray: true`, for label masks) to 1 channel holding the stored
    /// palette indices or gray values, exactly as `np.array(Image.open(mask))` gives them.
    static func decodePNG(_ bytes: [UInt8], file: String, gray: Bool) throws -> DecodedImage {
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        var width: UInt32 = 0, height: UInt32 = 0
        var channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { input in
            pngread_decode(input.baseAddress, input.count, gray ? PNGReadLabels : PNGReadRGB, UInt64(maximumPixels),
                           &pixels, &width, &height, &channels, &message, message.count)
        }
        guard status == 0, let pixels else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DatasetError(file, "\(gray ? "label " : "")PNG cannot be decoded (\(reason))")
        }
        defer { free(pixels) }
        let count = Int(width) * Int(height) * Int(channels)
        return DecodedImage(height: Int(height), width: Int(width), channels: Int(channels),
                            pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }

    private static func pngMessage(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Reads a label PNG (ADE20K annotations): gray or palette, values as stored.
    public static func decodeGrayPNG(file path: String) throws -> DecodedImage {
        try decodeLabelPNG(try readFileBytes(path), file: path)
    }

    /// Same, from the bytes of a PNG; `file` names them in errors.
    public static func decodeLabelPNG(_ bytes: [UInt8], file: String) throws -> DecodedImage {
        guard bytes.starts(with: pngMagic) else { throw DatasetError(file, "not a PNG file") }
        return try decodePNG(bytes, file: file, gray: true)
    }

    /// Writes an 8-bit gray (1 channel) or RGB (3 channel) PNG through a temporary file.
    public static func writePNG(_ image: DecodedImage, to path: String) throws {
        precondition(image.channels == 1 || image.channels == 3, "PNG writer takes gray or RGB")
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = image.channels == 1 ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_RGB)
        let temporary = "\(path).tmp-\(getpid())"
        var pixels = image.pixels
        let status = png_image_write_to_file(&png, temporary, 0, &pixels, 0, nil)
        guard status != 0 else {
            let message = pngMessage(&png)
            png_image_free(&png)
            unlink(temporary)
            throw DatasetError(path, "writing PNG failed (\(message))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw DatasetError(path, "rename from \(temporary) failed")
        }
    }
}
