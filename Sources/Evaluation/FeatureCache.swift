import Foundation
import HDF5Kit

/// What a cached feature file was computed from. A cache is reused only when every field
/// matches: the encoder's parameter digest, the pack's content digest, the split, the kind and
/// the input normalisation.
public struct FeatureCacheKey: Equatable, Sendable {
    /// `EncoderDigest.parameters` (or `raw-pixels`).
    public var encoderDigest: String
    /// The pack's `content_digest`.
    public var packDigest: String
    public var split: String
    public var kind: String
    /// `ImageNormalization.cacheKey`.
    public var normalization: String

    public init(encoderDigest: String, packDigest: String, split: String, kind: String, normalization: String) {
        self.encoderDigest = encoderDigest
        self.packDigest = packDigest
        self.split = split
        self.kind = kind
        self.normalization = normalization
    }

    /// Attribute names in the cache file (snake_case) and their values.
    var attributes: [(String, String)] {
        [(FeatureCache.encoderDigestAttribute, encoderDigest), (FeatureCache.packDigestAttribute, packDigest),
         (FeatureCache.splitAttribute, split), (FeatureCache.kindAttribute, kind),
         (FeatureCache.normalizationAttribute, normalization)]
    }
}

/// Features cached in HDF5: dataset `features` (float32, [N, F] or [N, gh, gw, D]) and the key
/// as root attributes, plus `patchbench_format = patchbench.features/1`. Written to a temporary
/// file and renamed. A file that exists but is not a feature cache is never overwritten.
public enum FeatureCache {
    public static let format = "patchbench.features/1"
    public static let formatAttribute = "patchbench_format"
    public static let featuresDataset = "features"
    public static let encoderDigestAttribute = "encoder_digest"
    public static let packDigestAttribute = "pack_digest"
    public static let splitAttribute = "split"
    public static let kindAttribute = "kind"
    public static let normalizationAttribute = "normalization"

    /// The stored features when `path` holds a cache with exactly this key; nil when the file is
    /// missing or its key differs (stale). Throws when the file is not a feature cache.
    public static func load(path: String, key: FeatureCacheKey) throws -> ExtractedFeatures? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file: HDF5File
        do { file = try HDF5File(openingForReadAt: path) } catch {
            throw EvaluationError.invalidInput("\(path): exists but is not a feature cache (not HDF5: \(error)); remove it or choose another path")
        }
        defer { file.close() }
        let found = file.hasAttribute(formatAttribute) ? (try? file.stringAttribute(formatAttribute)) ?? "?" : "none"
        guard found == format else {
            throw EvaluationError.invalidInput("\(path): exists but is not a feature cache (format attribute: \(found)); remove it or choose another path")
        }
        for (name, expected) in key.attributes {
            guard file.hasAttribute(name), (try? file.stringAttribute(name)) == expected else { return nil }
        }
        guard file.contains(featuresDataset) else { return nil }
        let (values, shape) = try file.read(featuresDataset, as: Float.self)
        guard shape.count >= 2, values.count == shape.reduce(1, *) else {
            throw EvaluationError.invalidInput("\(path): dataset '\(featuresDataset)' has shape \(shape)")
        }
        return ExtractedFeatures(values: values, shape: shape)
    }

    /// Writes features with their key (temporary file + rename).
    public static func store(_ features: ExtractedFeatures, key: FeatureCacheKey, path: String) throws {
        try HDF5File.writeAtomically(to: path) { file in
            try file.setAttribute(formatAttribute, format)
            for (name, value) in key.attributes { try file.setAttribute(name, value) }
            try file.write(features.values, shape: features.shape, to: featuresDataset)
        }
    }

    /// Returns the cached features when the key matches, otherwise computes, stores and returns
    /// them. `reused` says which happened.
    public static func loadOrCompute(path: String, key: FeatureCacheKey,
                                     compute: () throws -> ExtractedFeatures) throws -> (features: ExtractedFeatures, reused: Bool) {
        if let cached = try load(path: path, key: key) { return (cached, true) }
        let features = try compute()
        try store(features, key: key, path: path)
        return (features, false)
    }
}
