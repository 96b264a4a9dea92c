import CZlib
import Foundation

/// gzip / zlib decompression through the system zlib. Truncated or corrupt streams throw an
/// error naming the file instead of returning partial data.
public enum Gzip {
    /// True when the bytes start with the gzip magic 1F 8B.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// Decompresses a whole gzip (or zlib) stream; concatenated gzip members are all decoded.
    public static func decompress(_ compressed: [UInt8], file: String) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(compressed.count * 4)
        var stream = z_stream()
        // 15 window bits + 32: detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DatasetError(file, "zlib initialisation failed")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        // zlib counts input in UInt32; the gzip files read here (CIFAR, IDX) are far smaller.
        guard compressed.count <= Int(UInt32.max) else {
            throw DatasetError(file, "gzip file of \(compressed.count) bytes is above the 4 GiB this reader takes in one piece")
        }
        try compressed.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END {
                    // Another gzip member may follow (e.g. files made with `cat a.gz b.gz`).
                    if stream.avail_in > 0, inflateReset(&stream) == Z_OK { continue }
                    return
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    throw DatasetError(file, "gzip stream is truncated (ended after \(output.count) decoded bytes)")
                }
                guard status == Z_OK else {
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DatasetError(file, "corrupt gzip data (\(message))")
                }
            }
        }
        return output
    }

    /// Reads a file and decompresses it when it starts with the gzip magic.
    static func readMaybeCompressed(_ path: String) throws -> [UInt8] {
        let bytes = try readFileBytes(path)
        return isGzip(bytes) ? try decompress(bytes, file: path) : bytes
    }
}
