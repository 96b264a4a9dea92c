import Foundation
import Checkpoint
import HDF5Kit
import Objectives
import Layers
import TensorCore

/// Where the frozen features come from.
public enum EncoderSource: Sendable, Equatable {
    /// An `encoder.h5` written by `Checkpoint.saveEncoder`.
    case checkpoint(path: String)
    /// An encoder initialised from `RandomStreams(seed).initialization` and never trained: the
    /// floor every method must beat.
    case randomInit(config: ViTConfig, seed: UInt64)
    /// No encoder: normalised pixels flattened (C, H, W), the floor below everything.
    case rawPixels

    public static let randomInitMethod = "random-init"
    public static let rawPixelsMethod = "raw-pixels"

    /// `checkpoint`, `random-init` or `raw-pixels` (the protocol's `encoder_source`).
    public var name: String {
        switch self {
        case .checkpoint: return "checkpoint"
        case .randomInit: return Self.randomInitMethod
        case .rawPixels: return Self.rawPixelsMethod
        }
    }

    /// The encoder (nil for raw pixels). Load errors name the checkpoint file.
    public func makeEncoder() throws -> VisionTransformer? {
        switch self {
        case .rawPixels: return nil
        case .randomInit(let config, let seed):
            var streams = RandomStreams(seed: seed)
            return VisionTransformer(config, rng: &streams.initialization)
        case .checkpoint(let path):
            guard FileManager.default.fileExists(atPath: path) else {
                throw EvaluationError.invalidInput("\(path): encoder checkpoint not found")
            }
            do { return try Checkpoint.loadEncoder(from: path) } catch {
                let message = "\(error)"
                throw EvaluationError.invalidInput(message.contains(path) ? message
                                                   : "\(path): cannot load encoder checkpoint: \(message)")
            }
        }
    }

    /// The relative-position tables stored beside a checkpoint's encoder (LoMaR), or nil.
    public func makeRelativeBias(for encoder: VisionTransformer) throws -> RelativePositionBias? {
        guard case .checkpoint(let path) = self else { return nil }
        let file = try HDF5File(openingForReadAt: path)
        func attribute(_ name: String) throws -> String? {
            file.hasAttribute(name) ? try file.stringAttribute(name) : nil
        }
        let names = (kind: try attribute(RelativePositionBias.kindAttribute), buckets: try attribute(RelativePositionBias.bucketsAttribute),
                     query: try attribute(RelativePositionBias.queryAttribute))
        file.close()
        guard let kindName = names.kind else { return nil }
        guard let kind = RelativePositionKind(rawValue: kindName) else {
            throw EvaluationError.invalidInput("\(path): unknown \(RelativePositionBias.kindAttribute) '\(kindName)'")
        }
        let bucketsName = names.buckets ?? "irpe"
        guard let bucketing = RelativePositionBucketing(bucketsName) else {
            throw EvaluationError.invalidInput("\(path): unknown \(RelativePositionBias.bucketsAttribute) '\(bucketsName)' (irpe or clip:0…3)")
        }
        let queryName = names.query ?? RelativePositionQuery.unscaled.rawValue
        guard let query = RelativePositionQuery(rawValue: queryName) else {
            throw EvaluationError.invalidInput("\(path): unknown \(RelativePositionBias.queryAttribute) '\(queryName)' (unscaled or scaled)")
        }
        let bias = RelativePositionBias(kind: kind, bucketing: bucketing, query: query, encoder: encoder.config)
        do { try Checkpoint.loadExtraParameters(from: path, into: bias.namedParameters()) } catch {
            throw EvaluationError.invalidInput("\(path): cannot load the relative-position tables: \(error)")
        }
        return bias
    }

    /// A named encoder config (`tiny32`, `small64`) or a JSON file holding a `ViTConfig` (the same
    /// JSON an encoder.h5 stores in its `vit_config_json` attribute).
    public static func config(named text: String) throws -> ViTConfig {
        switch text {
        case "tiny32": return .tiny32
        case "small64": return .small64
        default:
            guard FileManager.default.fileExists(atPath: text) else {
                throw EvaluationError.invalidInput("\(text): not a named encoder config (tiny32, small64) and no such file")
            }
            do {
                return try JSONDecoder().decode(ViTConfig.self, from: try Data(contentsOf: URL(fileURLWithPath: text)))
            } catch {
                throw EvaluationError.invalidInput("\(text): not a ViT config JSON: \(error)")
            }
        }
    }
}

/// The `encoder` block of a metrics file. For a checkpoint in a run directory (a `run.json`
/// beside it) method, budget, seed and config_hash come from run.json, so the Results collector
/// accepts the file; otherwise from the caller's values, with these defaults: method `unknown`
/// (`random-init` / `raw-pixels` for those sources), budget `none`, seed 0 (the init seed for
/// random-init), config_hash = SHA-256 of the encoder's ViT config JSON (`none` for raw pixels).
public struct EncoderDescription: Sendable {
    public var method: String?
    public var budget: String?
    public var seed: Int?
    public var configHash: String?

    public init(method: String? = nil, budget: String? = nil, seed: Int? = nil, configHash: String? = nil) {
        self.method = method
        self.budget = budget
        self.seed = seed
        self.configHash = configHash
    }

    public static let runFileName = "run.json"

    /// The run directory holding the checkpoint, when it has a run.json.
    public static func runDirectory(ofCheckpoint path: String) -> String? {
        let directory = (path as NSString).deletingLastPathComponent
        let candidate = ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent(runFileName)
        return FileManager.default.fileExists(atPath: candidate) ? (directory.isEmpty ? "." : directory) : nil
    }

    /// Reads method, budget, seed and config_hash of a run.json; errors name the file and field.
    public static func fromRunFile(_ path: String) throws -> MetricsRecord.EncoderInfo {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw EvaluationError.invalidInput("\(path): not readable JSON: \(error.localizedDescription)")
        }
        guard let run = object as? [String: Any] else { throw EvaluationError.invalidInput("\(path): not a JSON object") }
        func string(_ key: String) throws -> String {
            guard let value = run[key] as? String else { throw EvaluationError.invalidInput("\(path): field '\(key)' missing or not a string") }
            return value
        }
        guard let seed = run["seed"] as? NSNumber, seed.doubleValue == Double(seed.intValue) else {
            throw EvaluationError.invalidInput("\(path): field 'seed' missing or not an integer")
        }
        return MetricsRecord.EncoderInfo(method: try string("method"), budget: try string("budget"), seed: seed.intValue,
                                         configHash: try string("config_hash"))
    }

    /// Resolves the encoder block for `source` (see the type's comment).
    public func resolve(for source: EncoderSource, encoder: VisionTransformer?) throws -> MetricsRecord.EncoderInfo {
        if case .checkpoint(let path) = source, let directory = Self.runDirectory(ofCheckpoint: path) {
            return try Self.fromRunFile((directory as NSString).appendingPathComponent(Self.runFileName))
        }
        let hash = configHash ?? encoder.map { EncoderDigest.config($0.config) } ?? "none"
        switch source {
        case .checkpoint:
            return .init(method: method ?? "unknown", budget: budget ?? "none", seed: seed ?? 0, configHash: hash)
        case .randomInit(_, let initSeed):
            return .init(method: method ?? EncoderSource.randomInitMethod, budget: budget ?? "none",
                         seed: seed ?? Int(initSeed), configHash: hash)
        case .rawPixels:
            return .init(method: method ?? EncoderSource.rawPixelsMethod, budget: budget ?? "none", seed: seed ?? 0,
                         configHash: hash)
        }
    }
}
