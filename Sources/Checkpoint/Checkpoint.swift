import Foundation
import HDF5Kit
import Layers
import Optim
import TensorCore

/// Checkpoints in HDF5.
///
/// Encoder files (`encoder.h5`) hold the parameters at the root under timm's
/// `VisionTransformer` names and shapes (`patch_embed.proj.weight` as [D, C, p, p]), so an
/// encoder moves between PatchBench and PyTorch both ways, plus the config as a JSON attribute.
/// Training checkpoints add `optimizer/m/<key>`, `optimizer/v/<key>`, the step and every
/// random stream's state, for exact resumption. Every file is written to a temporary file
/// and renamed.
public enum Checkpoint {
    public static let formatAttribute = "patchbench_format"
    public static let encoderFormat = "patchbench.encoder/1"
    public static let trainingFormat = "patchbench.training/1"
    /// The `encoder.h5` of an encoderless reference row (raw pixels, one constant class): no
    /// weights, only the row's name, so that every run directory ends in the same file.
    public static let referenceFormat = "patchbench.reference/1"
    public static let referenceAttribute = "reference"
    public static let configAttribute = "vit_config_json"

    public enum CheckpointError: Error, CustomStringConvertible {
        case foreign(file: String, found: String)
        case missingKey(file: String, key: String)
        case shapeMismatch(file: String, key: String, stored: [Int], expected: [Int])
        case badConfig(file: String, detail: String)

        public var description: String {
            switch self {
            case .foreign(let f, let found) where found == Checkpoint.referenceFormat:
                return "\(f): the marker of an encoderless reference row (\(found)), not an encoder; evaluate its run "
                    + "directory's encoder.h5 beside its run.json, or use --raw-pixels / --constant-class"
            case .foreign(let f, let found): return "\(f): not a PatchBench checkpoint (format attribute: \(found))"
            case .missingKey(let f, let k): return "\(f): parameter '\(k)' is missing"
            case .shapeMismatch(let f, let k, let s, let e):
                return "\(f): parameter '\(k)' has shape \(s) in the file, the model expects \(e)"
            case .badConfig(let f, let d): return "\(f): unreadable encoder config: \(d)"
            }
        }
    }

    /// The shape a parameter is stored with: timm's conv layout for the patch embedding.
    static func storedShape(key: String, tensor: Tensor, patch: Int?) -> [Int] {
        if key.hasSuffix("patch_embed.proj.weight"), let p = patch, tensor.rank == 2 {
            let d = tensor.shape[0], c = tensor.shape[1] / (p * p)
            return [d, c, p, p]
        }
        return tensor.shape
    }

    static func writeParameters(_ file: HDF5File, _ params: [(String, Tensor)], prefix: String, patch: Int?) throws {
        for (key, t) in params {
            let shape = storedShape(key: key, tensor: t, patch: patch)
            switch t.dtype {
            case .float32: try file.write(t.floats, shape: shape, to: prefix + key)
            case .float64: try file.write(t.doubles, shape: shape, to: prefix + key)
            }
        }
    }

    public static func readParameters(_ file: HDF5File, into params: [(String, Tensor)], prefix: String, patch: Int?) throws {
        for (key, t) in params {
            let name = prefix + key
            guard file.contains(name) else { throw CheckpointError.missingKey(file: file.path, key: name) }
            let stored = try file.shape(of: name)
            let expected = storedShape(key: key, tensor: t, patch: patch)
            guard stored == expected else {
                throw CheckpointError.shapeMismatch(file: file.path, key: name, stored: stored, expected: expected)
            }
            switch t.dtype {
            case .float32:
                let v = try file.read(name, as: Float.self).values
                v.withUnsafeBufferPointer { t.storage.f32.update(from: $0.baseAddress!, count: v.count) }
            case .float64:
                let v = try file.read(name, as: Double.self).values
                v.withUnsafeBufferPointer { t.storage.f64.update(from: $0.baseAddress!, count: v.count) }
            }
        }
    }

    static func checkFormat(_ file: HDF5File, _ expected: String) throws {
        let found = file.hasAttribute(formatAttribute) ? (try? file.stringAttribute(formatAttribute)) ?? "?" : "none"
        guard found == expected else { throw CheckpointError.foreign(file: file.path, found: found) }
    }

    // MARK: Encoders

    /// Writes the encoder with timm key names and shapes.
    /// `extraParameters`: tensors the ViT does not hold but evaluation needs (LoMaR's relative-position
    /// tables, under `blocks.<i>.attn.rpe_k.lookup_table_weight`). A fixed sin-cos position table
    /// is written as `pos_embed` too (it is no parameter), so the file is a complete timm state
    /// dict: `load_state_dict` needs no `strict=False`.
    public static func saveEncoder(_ encoder: VisionTransformer, to path: String, attributes: [String: String] = [:],
                                   extraParameters: [(String, Tensor)] = []) throws {
        let config = String(decoding: try JSONEncoder.sorted.encode(encoder.config), as: UTF8.self)
        var tensors = encoder.namedParameters()
        if encoder.config.positionEmbedding == .sinCos, let table = encoder.positionEmbedding { tensors.append(("pos_embed", table)) }
        try HDF5File.writeAtomically(to: path) { file in
            try file.setAttribute(formatAttribute, encoderFormat)
            try file.setAttribute(configAttribute, config)
            for key in attributes.keys.sorted() { try file.setAttribute(key, attributes[key]!) }
            try writeParameters(file, tensors + extraParameters, prefix: "", patch: encoder.config.patchSize)
        }
    }

    /// The `method` attribute `pretrain` writes into an encoder file; nil when the file has none
    /// (a converted timm file, one written by hand) or cannot be read.
    public static func encoderMethod(at path: String) -> String? {
        guard let file = try? HDF5File(openingForReadAt: path) else { return nil }
        defer { file.close() }
        guard (try? file.attributeNames())?.contains("method") == true else { return nil }
        return try? file.stringAttribute("method")
    }

    /// Writes the marker `encoder.h5` of an encoderless reference row named `row`.
    public static func saveReferenceMarker(row: String, to path: String, attributes: [String: String] = [:]) throws {
        try HDF5File.writeAtomically(to: path) { file in
            try file.setAttribute(formatAttribute, referenceFormat)
            try file.setAttribute(referenceAttribute, row)
            for key in attributes.keys.sorted() { try file.setAttribute(key, attributes[key]!) }
        }
    }

    /// Reads an encoder written by `saveEncoder` (or converted from timm with the same keys).
    public static func loadEncoder(from path: String, dtype: DType = .float32) throws -> VisionTransformer {
        let file = try HDF5File(openingForReadAt: path)
        defer { file.close() }
        try checkFormat(file, encoderFormat)
        let json = try file.stringAttribute(configAttribute)
        let config: ViTConfig
        do { config = try JSONDecoder().decode(ViTConfig.self, from: Data(json.utf8)) }
        catch { throw CheckpointError.badConfig(file: path, detail: "\(error)") }
        var rng = RandomStream(seed: 0)
        let vit = VisionTransformer(config, dtype: dtype, rng: &rng)
        try readParameters(file, into: vit.namedParameters(), prefix: "", patch: config.patchSize)
        return vit
    }

    // MARK: Training state

    /// Everything needed to continue a run exactly: parameters, AdamW moments and per-parameter
    /// update counts, step, streams, and the objective's state (EMA teacher, centres) under `state/`.
    public static func saveTraining(to path: String, parameters: [(String, Tensor)], optimizer: AdamW.State,
                                    streams: RandomStreams, patch: Int?, objectiveState: [(String, Tensor)] = [],
                                    attributes: [String: String] = [:]) throws {
        try HDF5File.writeAtomically(to: path) { file in
            try file.setAttribute(formatAttribute, trainingFormat)
            try file.setAttribute("step", Int64(optimizer.step))
            try file.setAttribute("seed", Int64(bitPattern: streams.seed))
            for key in attributes.keys.sorted() { try file.setAttribute(key, attributes[key]!) }
            try writeParameters(file, parameters, prefix: "model/", patch: patch)
            for (i, (key, t)) in parameters.enumerated() {
                let shape = storedShape(key: key, tensor: t, patch: patch)
                for (group, buffer) in [("m", optimizer.m[i]), ("v", optimizer.v[i])] {
                    let moment = Tensor(sharing: buffer, shape: t.shape)
                    switch t.dtype {
                    case .float32: try file.write(moment.floats, shape: shape, to: "optimizer/\(group)/\(key)")
                    case .float64: try file.write(moment.doubles, shape: shape, to: "optimizer/\(group)/\(key)")
                    }
                }
            }
            try file.write(optimizer.counts.map(Int64.init), shape: [optimizer.counts.count], to: "optimizer/counts")
            try writeParameters(file, objectiveState, prefix: "state/", patch: nil)
            for (name, stream) in streams.all {
                let s = stream.state
                try file.write([s.0, s.1, s.2, s.3], shape: [4], to: "rng/\(name.rawValue)")
            }
        }
    }

    /// Restores parameters (in place) and returns the optimizer state and streams. The objective's
    /// state is read into `objectiveState`'s tensors (names and shapes as the objective made them
    /// at step 0). Checkpoints written before per-parameter counts existed count `step` for all.
    public static func loadTraining(from path: String, parameters: [(String, Tensor)], patch: Int?,
                                    objectiveState: [(String, Tensor)] = []) throws -> (AdamW.State, RandomStreams) {
        let file = try HDF5File(openingForReadAt: path)
        defer { file.close() }
        try checkFormat(file, trainingFormat)
        try readParameters(file, into: parameters, prefix: "model/", patch: patch)
        try readParameters(file, into: objectiveState, prefix: "state/", patch: nil)
        let zeros = parameters.map { ($0.0, Tensor.zeros($0.1.shape, dtype: $0.1.dtype)) }
        let ms = zeros.map { ($0.0, $0.1.copy()) }, vs = zeros.map { ($0.0, $0.1.copy()) }
        try readParameters(file, into: ms, prefix: "optimizer/m/", patch: patch)
        try readParameters(file, into: vs, prefix: "optimizer/v/", patch: patch)
        let step = Int(try file.int64Attribute("step"))
        var streams = RandomStreams(seed: UInt64(bitPattern: try file.int64Attribute("seed")))
        for name in StreamName.allCases {
            let key = "rng/\(name.rawValue)"
            guard file.contains(key) else { throw CheckpointError.missingKey(file: path, key: key) }
            let s = try file.read(key, as: UInt64.self).values
            guard s.count == 4 else { throw CheckpointError.shapeMismatch(file: path, key: key, stored: [s.count], expected: [4]) }
            streams.set(name, RandomStream(state: (s[0], s[1], s[2], s[3])))
        }
        var counts: [Int]? = nil
        if file.contains("optimizer/counts") {
            let stored = try file.read("optimizer/counts", as: Int64.self).values.map(Int.init)
            guard stored.count == parameters.count else {
                throw CheckpointError.shapeMismatch(file: path, key: "optimizer/counts", stored: [stored.count],
                                                    expected: [parameters.count])
            }
            counts = stored
        }
        return (AdamW.State(step: step, m: ms.map(\.1.storage), v: vs.map(\.1.storage), counts: counts), streams)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

// MARK: Encoder extras

extension Checkpoint {
    /// Reads extra encoder tensors (shapes must match `into`) from an encoder file.
    public static func loadExtraParameters(from path: String, into params: [(String, Tensor)]) throws {
        let file = try HDF5File(openingForReadAt: path)
        defer { file.close() }
        try checkFormat(file, encoderFormat)
        try readParameters(file, into: params, prefix: "", patch: nil)
    }
}
