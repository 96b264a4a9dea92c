import Foundation

/// One regular file of a tar archive.
public struct TarMember {
    public let path: String
    public let contents: [UInt8]
}

/// Regular files of a (possibly gzip-compressed) POSIX/GNU tar archive, read into memory.
/// Enough for the dataset archives (cifar-*.tar.gz); a truncated or malformed archive throws.
public enum TarArchive {
    /// Regular files in archive order (deterministic, unlike a dictionary); a path that occurs
    /// twice is refused, since which copy "wins" would be an accident of the reader.
    static func read(_ path: String) throws -> [TarMember] {
        try read(Gzip.readMaybeCompressed(path), file: path)
    }

    /// Same, from the (already decompressed) archive bytes; `file` names them in errors.
    public static func read(_ bytes: [UInt8], file path: String) throws -> [TarMember] {
        var members: [TarMember] = []
        var firstOffset: [String: Int] = [:]
        var offset = 0
        var longName: String? = nil
        func field(_ start: Int, _ length: Int) -> String {
            let slice = bytes[(offset + start)..<(offset + start + length)]
            return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
        }
        while offset + 512 <= bytes.count {
            if bytes[offset..<(offset + 512)].allSatisfy({ $0 == 0 }) { return members }
            let sizeText = field(124, 12).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
            // Octal digits only: Int(_:radix:) would also take "-12" or "+12", and a negative
            // size would make the data range below run backwards.
            guard !sizeText.isEmpty, sizeText.utf8.allSatisfy({ (0x30...0x37).contains($0) }), let size = Int(sizeText, radix: 8) else {
                throw DatasetError(path, "corrupt tar header at byte \(offset): size field '\(sizeText)' is not an octal number")
            }
            let type = bytes[offset + 156]
            var name = field(0, 100)
            let prefix = field(345, 155)
            if field(257, 5) == "ustar", !prefix.isEmpty { name = prefix + "/" + name }
            let dataStart = offset + 512
            guard size <= bytes.count - dataStart else { throw DatasetError(path, "tar archive is truncated inside '\(name)'") }
            let data = Array(bytes[dataStart..<(dataStart + size)])
            switch type {
            case UInt8(ascii: "L"):
                longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            case UInt8(ascii: "0"), 0:
                let memberPath = longName ?? name
                if let earlier = firstOffset[memberPath] {
                    throw DatasetError(path, "member '\(memberPath)' occurs twice (headers at bytes \(earlier) and \(offset))")
                }
                firstOffset[memberPath] = offset
                members.append(TarMember(path: memberPath, contents: data))
                longName = nil
            default:
                longName = nil
            }
            offset = dataStart + (size + 511) / 512 * 512
        }
        throw DatasetError(path, "tar archive is truncated (no end-of-archive marker)")
    }
}
