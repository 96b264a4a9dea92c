import Foundation
import HDF5Kit
import Layers
import Objectives
import TensorCore

/// Content digests that identify an encoder, for feature caches and metrics files.
///
/// `parameters`: SHA-256 over the config JSON (sorted keys), a 0 byte, then for each named
/// parameter in the encoder's order: the name's UTF-8 bytes, a 0 byte, the rank and dimensions
/// as little-endian int64, and the float32 values' little-endian bytes. It depends on what the
/// encoder computes, not on how the HDF5 file lays it out, so a re-saved checkpoint keeps it.
/// `config`: SHA-256 of the config JSON alone (the encoder's `config_hash` when no run.json
/// gives one).
public enum EncoderDigest {
    public static func configJSON(_ config: ViTConfig) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(config)) ?? Data(), as: UTF8.self)
    }

    public static func config(_ config: ViTConfig) -> String {
        let hasher = SHA256Hasher()
        hasher.update(configJSON(config))
        return hasher.finalize()
    }

    /// With a relative-position bias (LoMaR's encoders), its kind, bucketing and tables follow
    /// the ViT's parameters, so two encoders that differ only in their tables get different
    /// digests (and feature caches); without one the digest is the ViT's alone, as before.
    public static func parameters(of encoder: VisionTransformer, relativeBias: RelativePositionBias? = nil) -> String {
        let hasher = SHA256Hasher()
        hasher.update(configJSON(encoder.config))
        hasher.update([0])
        update(hasher, with: encoder.namedParameters())
        if let relativeBias {
            hasher.update([0])
            hasher.update("\(relativeBias.kind.rawValue) \(relativeBias.bucketing)" + (relativeBias.queryNote.map { " " + $0 } ?? ""))
            hasher.update([0])
            update(hasher, with: relativeBias.namedParameters())
        }
        return hasher.finalize()
    }

    /// Feeds named tensors to `hasher`: name, a zero byte, rank, shape, then the values.
    public static func update(_ hasher: SHA256Hasher, with parameters: [(String, Tensor)]) {
        for (name, tensor) in parameters {
            hasher.update(name)
            hasher.update([0])
            hasher.update(int64: Int64(tensor.rank))
            for dimension in tensor.shape { hasher.update(int64: Int64(dimension)) }
            hasher.update(values: tensor.floats)
        }
    }
}
