import Foundation

/// Regular files of a (possibly gzip-compressed) POSIX/GNU tar archive, read into memory.
/// Enough for the dataset archives (cifar-*.tar.gz); a truncated archive throws.
enum TarArchive {
    /// Path inside the archive → contents, for regular files only.
    static func read(_ path: String) throws -> [String: [UInt8]] {
        let bytes = try Gzip.readMaybeCompressed(path)
        var files: [String: [UInt8]] = [:]
        var offset = 0
        var longName: String? = nil
        func field(_ start: Int, _ length: Int) -> String {
            let slice = bytes[(offset + start)..<(offset + start + length)]
            return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
        }
        while offset + 512 <= bytes.count {
            if bytes[offset..<(offset + 512)].allSatisfy({ $0 == 0 }) { return files }
            let sizeText = field(124, 12).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
            guard let size = Int(sizeText, radix: 8) else { throw DatasetError(path, "corrupt tar header at byte \(offset)") }
            let type = bytes[offset + 156]
            var name = field(0, 100)
            let prefix = field(345, 155)
            if field(257, 5) == "ustar", !prefix.isEmpty { name = prefix + "/" + name }
            let dataStart = offset + 512
            guard dataStart + size <= bytes.count else { throw DatasetError(path, "tar archive is truncated inside '\(name)'") }
            let data = Array(bytes[dataStart..<(dataStart + size)])
            switch type {
            case UInt8(ascii: "L"):
                longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            case UInt8(ascii: "0"), 0:
                files[longName ?? name] = data
                longName = nil
            default:
                longName = nil
            }
            offset = dataStart + (size + 511) / 512 * 512
        }
        throw DatasetError(path, "tar archive is truncated (no end-of-archive marker)")
    }
}
