import COpenSSL
import Foundation

/// Streaming SHA-256 through the system libcrypto (EVP), so packs of any size can be digested
/// without holding them in memory twice. Not thread-safe; one hasher per digest.
public final class SHA256Hasher {
    private var context: OpaquePointer?
    private var finished = false

    public init() {
        context = EVP_MD_CTX_new()
        precondition(context != nil && EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "libcrypto SHA-256 init failed")
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds raw bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(!finished, "SHA256Hasher.update after finalize")
        guard bytes.count > 0 else { return }
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Feeds the in-memory (little-endian on every supported platform) bytes of numbers.
    public func update<T: HDF5Element>(values: [T]) { values.withUnsafeBytes { update($0) } }

    /// Feeds a string's UTF-8 bytes.
    public func update(_ string: String) { update(Array(string.utf8)) }

    /// Feeds one Int64 as 8 little-endian bytes (used for lengths and shapes in digests).
    public func update(int64 value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { update($0) }
    }

    /// Finishes and returns the lowercase hex digest (64 characters). Call once.
    public func finalize() -> String {
        precondition(!finished, "SHA256Hasher.finalize called twice")
        finished = true
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// One-shot digest of bytes.
    public static func hex(_ bytes: [UInt8]) -> String {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
