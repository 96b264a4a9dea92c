import Datasets
import Foundation
import Layers
import Objectives
import Results

/// A fixed-ViT budget (configs/budgets/<name>.json, schema "patchbench.budget/1"): one encoder,
/// one number of images seen, one optimizer and augmentation for every method, plus each
/// method's own settings. JSON keys are snake_case (decoded with `convertFromSnakeCase`).
public struct Budget: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.budget/1"

    public struct Encoder: Codable, Equatable, Sendable {
        public var imageSize: Int
        public var patchSize: Int
        public var channels: Int
        public var dimension: Int
        public var depth: Int
        public var heads: Int
        public var mlpRatio: Double
        public var layerNormEps: Double
    }

    public struct Optimizer: Codable, Equatable, Sendable {
        /// Learning rate = base_learning_rate · batch_size / 256 (MAE's rule).
        public var baseLearningRate: Double
        public var minLearningRate: Double
        public var warmupFraction: Double
        public var beta1: Double
        public var beta2: Double
        public var eps: Double
        /// Applied to tensors of rank ≥ 2 only (no decay on biases and norms; the CLS and mask
        /// tokens, rank 3, are decayed): MAE's `param_groups_weight_decay` rule.
        public var weightDecay: Double
    }

    /// MAE's pretraining augmentation: RandomResizedCrop + horizontal flip + normalisation.
    public struct Augmentation: Codable, Equatable, Sendable {
        public var size: Int
        public var scale: [Double]
        public var ratio: [Double]
        public var interpolation: String
        public var flipProbability: Double
        public var mean: [Float]
        public var std: [Float]
    }

    public struct Data: Codable, Equatable, Sendable {
        public var pack: String
        public var split: String
    }

    public var schema: String
    public var name: String
    public var version: Int
    public var notes: [String]
    public var encoder: Encoder
    public var imagesSeen: Int
    public var batchSize: Int
    public var optimizer: Optimizer
    public var augmentation: Augmentation
    public var data: Data
    public var checkpointEvery: Int
    public var logEvery: Int
    /// Each method's block as the file writes it, by the method table's `configKey`
    /// (`mae`, `lomar`, `dino`, `selfpatch`). A block names only the keys it overrides; a method
    /// without a block runs its defaults (`settings(_:key:)`). Optional in the file.
    public var methods: [String: JSONValue]

    public init(from decoder: Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decode(Int.self, forKey: .version)
        notes = try c.decode([String].self, forKey: .notes)
        encoder = try c.decode(Encoder.self, forKey: .encoder)
        imagesSeen = try c.decode(Int.self, forKey: .imagesSeen)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        optimizer = try c.decode(Optimizer.self, forKey: .optimizer)
        augmentation = try c.decode(Augmentation.self, forKey: .augmentation)
        data = try c.decode(Data.self, forKey: .data)
        checkpointEvery = try c.decode(Int.self, forKey: .checkpointEvery)
        logEvery = try c.decode(Int.self, forKey: .logEvery)
        methods = try c.decodeIfPresent([String: JSONValue].self, forKey: .methods) ?? [:]
    }

    /// A method's settings: `defaults`, overridden key by key (nested blocks too) by what
    /// `methods.<key>` names. A key the settings do not have is an error, so a typo never
    /// silently runs the default.
    public func settings<Settings: Codable>(_ defaults: Settings, key: String) throws -> Settings {
        guard let block = methods[key] else { return defaults }
        let base = try Self.jsonValue(defaults)
        let merged = try Self.overlay(block, on: base, path: "methods.\(key)")
        do { return try Budget.decoder.decode(Settings.self, from: JSONEncoder().encode(merged)) } catch {
            throw HarnessError("methods.\(key): \(HarnessError.describe(error))")
        }
    }

    /// Replaces `methods.<key>` by every key of `settings` (tools and tests that build budgets).
    public mutating func setSettings<Settings: Encodable>(_ settings: Settings, key: String) throws {
        methods[key] = try Self.jsonValue(settings)
    }

    /// Settings as their budget block (snake_case keys).
    static func jsonValue<Settings: Encodable>(_ settings: Settings) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: encoderJSON.encode(settings))
    }

    static func overlay(_ block: JSONValue, on base: JSONValue, path: String) throws -> JSONValue {
        guard case .object(let defaults) = base else { return block }
        guard case .object(let given) = block else { throw HarnessError("\(path) must be an object") }
        var merged = defaults
        for key in given.keys.sorted() {
            guard let value = defaults[key] else {
                throw HarnessError("\(path): unknown key '\(key)' (known: \(defaults.keys.sorted().joined(separator: ", ")))")
            }
            merged[key] = try overlay(given[key]!, on: value, path: "\(path).\(key)")
        }
        return .object(merged)
    }

    public var totalSteps: Int { imagesSeen / batchSize }
    public var learningRate: Double { optimizer.baseLearningRate * Double(batchSize) / 256 }

    /// The encoder with the position embedding a method uses.
    public func vitConfig(positionEmbedding: ViTConfig.PositionEmbedding) -> ViTConfig {
        ViTConfig(imageSize: encoder.imageSize, patchSize: encoder.patchSize, channels: encoder.channels,
                  dimension: encoder.dimension, depth: encoder.depth, heads: encoder.heads, mlpRatio: encoder.mlpRatio,
                  clsToken: true, positionEmbedding: positionEmbedding, dropPath: 0, layerNormEps: encoder.layerNormEps)
    }

    public var recipe: MultiCropRecipe {
        var view = ViewRecipe(size: augmentation.size, scale: augmentation.scale[0]...augmentation.scale[1])
        view.ratio = augmentation.ratio[0]...augmentation.ratio[1]
        view.interpolation = Interpolation(rawValue: augmentation.interpolation) ?? .bicubic
        view.flipProbability = augmentation.flipProbability
        view.jitter = nil
        view.jitterProbability = 0
        view.grayscaleProbability = 0
        view.mean = augmentation.mean
        view.std = augmentation.std
        return MultiCropRecipe(views: [view])
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    static var encoderJSON: JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }

    /// Reads and validates a budget file; every problem names the file.
    public static func load(path: String) throws -> Budget {
        let data: Foundation.Data
        do { data = try Foundation.Data(contentsOf: URL(fileURLWithPath: path)) }
        catch { throw HarnessError("\(path): cannot read the budget file (\(error.localizedDescription))") }
        return try parse(data, file: path)
    }

    /// Decodes and validates budget JSON held in memory (`file` names it in errors); `load`
    /// and the fuzz target both come through here.
    public static func parse(_ data: Foundation.Data, file path: String) throws -> Budget {
        let budget: Budget
        do { budget = try decoder.decode(Budget.self, from: data) }
        catch { throw HarnessError("\(path): malformed budget: \(HarnessError.describe(error))") }
        try budget.validate(file: path)
        return budget
    }

    /// configs/budgets/<name>.json under `root`.
    public static func path(named name: String, root: String) -> String {
        (root as NSString).appendingPathComponent("configs/budgets/\(name).json")
    }

    /// A budget name (configs/budgets/<name>.json, in the working folder or else the binary's
    /// checkout) or a path to a budget .json file.
    public static func path(for nameOrPath: String) -> String {
        nameOrPath.hasSuffix(".json") ? nameOrPath : Checkout.resolve("configs/budgets/\(nameOrPath).json")
    }

    func validate(file: String) throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw HarnessError("\(file): \(why)") } }
        try check(schema == Budget.schemaName, "schema is '\(schema)', expected '\(Budget.schemaName)'")
        // Sizes first: every later check and the model's shapes divide by them.
        let e = encoder
        for (name, value) in [("image_size", e.imageSize), ("patch_size", e.patchSize), ("channels", e.channels),
                              ("dimension", e.dimension), ("depth", e.depth), ("heads", e.heads)] {
            try check(value > 0 && value <= 1 << 20, "encoder.\(name) is \(value); it must be a positive size")
        }
        try check(e.mlpRatio > 0 && e.mlpRatio <= 64, "encoder.mlp_ratio is \(e.mlpRatio); it must be in (0, 64]")
        try check(e.layerNormEps > 0 && e.layerNormEps < 1, "encoder.layer_norm_eps is \(e.layerNormEps); it must be in (0, 1)")
        try check(e.imageSize % e.patchSize == 0, "image_size must be a multiple of patch_size")
        try check(e.dimension % e.heads == 0 && e.dimension % 4 == 0,
                  "dimension must be divisible by heads and by 4 (sin-cos embedding)")
        try check(batchSize > 0 && batchSize <= 1 << 20 && imagesSeen >= batchSize && imagesSeen <= 1 << 40,
                  "need 0 < batch_size ≤ 2^20 and batch_size ≤ images_seen ≤ 2^40")
        try check(imagesSeen % batchSize == 0, "images_seen must be a multiple of batch_size")
        try check(checkpointEvery > 0 && logEvery > 0, "checkpoint_every and log_every must be positive")
        try check(augmentation.size == encoder.imageSize, "augmentation size must equal the encoder's image_size")
        let a = augmentation
        try check(a.scale.count == 2 && a.ratio.count == 2, "scale and ratio are [low, high]")
        try check(a.scale[0] > 0 && a.scale[0] <= a.scale[1] && a.scale[1] <= 1,
                  "augmentation.scale is \(a.scale); it must be [low, high] with 0 < low ≤ high ≤ 1")
        try check(a.ratio[0] > 0 && a.ratio[0] <= a.ratio[1] && a.ratio[1].isFinite,
                  "augmentation.ratio is \(a.ratio); it must be [low, high] with 0 < low ≤ high")
        try check(a.flipProbability >= 0 && a.flipProbability <= 1, "augmentation.flip_probability must be in [0, 1]")
        try check(a.std.allSatisfy { $0 > 0 && $0.isFinite } && a.mean.allSatisfy(\.isFinite),
                  "augmentation.std must be positive and mean finite")
        let o = optimizer
        try check(o.baseLearningRate >= 0 && o.baseLearningRate.isFinite && o.minLearningRate >= 0 && o.minLearningRate.isFinite,
                  "optimizer learning rates must be finite and ≥ 0")
        try check(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0 && o.eps.isFinite,
                  "optimizer betas must be in [0, 1) and eps positive")
        try check(o.weightDecay >= 0 && o.weightDecay.isFinite, "optimizer.weight_decay must be finite and ≥ 0")
        try check(Interpolation(rawValue: augmentation.interpolation) != nil, "interpolation must be bilinear or bicubic")
        for key in methods.keys.sorted() where !Method.configKeys.contains(key) {
            throw HarnessError("\(file): methods.\(key) is no method's block (known: \(Method.configKeys.joined(separator: ", ")))")
        }
        // Every method resolves its settings here, so a bad block names the budget file.
        for method in Method.all {
            do { _ = try method.resolve(self) } catch let error as HarnessError {
                throw HarnessError("\(file): \(method.name): \(error.description)")
            }
        }
        try check(augmentation.mean.count == encoder.channels && augmentation.std.count == encoder.channels,
                  "mean and std need one value per channel")
        try check(optimizer.warmupFraction >= 0 && optimizer.warmupFraction <= 1, "warmup_fraction must be in [0, 1]")
    }
}

/// An error with a message that names the file or run and what is wrong.
public struct HarnessError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing key '\(snakeCase(key.stringValue))' in \(path(context))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \(path(context)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return "invalid JSON at \(path(context)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    static func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { snakeCase($0.stringValue) }.joined(separator: ".")
        return p.isEmpty ? "the top level" : p
    }

    /// The file's spelling of a key decoded with `convertFromSnakeCase` ("batchSize" → "batch_size").
    static func snakeCase(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
