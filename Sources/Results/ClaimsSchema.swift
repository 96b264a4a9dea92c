/// The claims registry (results/claims.json, schema "patchbench.claims/1"): every reported delta PatchBench can test,
/// with where it comes from and which probe and metric stand in for the paper's protocol at small budgets.
public struct ClaimsFile: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.claims/1"

    public var schema: String
    /// Every method name a claim may use: the base methods plus ablation variants (e.g. `randsac-patch-raster`).
    public var methods: [MethodEntry]
    /// Method names that have an implementation: not in the file, but the method table's
    /// (Harness `Method.all`), given to `ClaimsLoader` by whoever loads the file.
    public var implemented: [String] = []
    /// What the method table says of a method that cannot run at every budget (the pixel-token
    /// RandSAC arm), by name: a not-run verdict of its claims repeats it. Not in the file either.
    public var notes: [String: String] = [:]
    public var claims: [Claim]

    enum CodingKeys: String, CodingKey {
        case schema, methods, claims
    }
}

/// A method the harness can run, as the method table names it: claims.json must list it with
/// the same base.
public struct ImplementedMethod: Equatable, Sendable {
    public var name: String
    public var base: String
    /// The table's plan note (e.g. that the method does not fit a budget), nil when none.
    public var note: String?
    public init(name: String, base: String, note: String? = nil) {
        self.name = name
        self.base = base
        self.note = note
    }
}

/// A method name as it appears in run directories, and the base objective it configures.
public struct MethodEntry: Codable, Equatable, Sendable {
    public var name: String
    public var base: String
    public var description: String

    enum CodingKeys: String, CodingKey {
        case name, base, description
    }
}

/// Which way the measured quantity must move for the claim to hold.
public enum ClaimDirection: String, Codable, Sendable, CaseIterable {
    /// method − baseline > 0 is claimed.
    case increase
    /// method − baseline < 0 is claimed (a reported loss, e.g. DenseCL on the image-level probe).
    case decrease
    /// throughput(method) / throughput(baseline) > 1 is claimed; `reported.ratio` is the claimed factor.
    case speedup
    /// throughput(method) / throughput(baseline) ≥ `reported.ratio` is claimed (e.g. "<1% slower" → 0.99).
    case noSlowdown = "no_slowdown"

    public var isSpeed: Bool { self == .speedup || self == .noSlowdown }
}

/// How closely the PatchBench proxy follows the paper's protocol.
public enum ProxyStrength: String, Codable, Sendable, CaseIterable {
    /// Same kind of measurement (linear probe for linear probe, throughput for speed).
    case direct
    /// Same kind of task with a much smaller head or budget (frozen linear seg for Semantic FPN, box head for
    /// Mask R-CNN box AP, `patchbench eval finetune` on a labelled subset for ImageNet fine-tuning).
    case proxy
    /// A different task that is the nearest frozen measurement (box AP for mask AP, frozen mIoU for DAVIS).
    case weak
}

public struct Paper: Codable, Equatable, Sendable {
    public var title: String
    public var arxiv: String
    /// Whether the arXiv id is written in the spec files, or was added from memory (then check it).
    public var arxivInSpec: Bool
    /// For ids not in the spec: the public source that ties the id to the title; nil where
    /// none was found (the id stays unconfirmed).
    public var arxivConfirmedBy: String?

    enum CodingKeys: String, CodingKey {
        case title, arxiv
        case arxivInSpec = "arxiv_in_spec"
        case arxivConfirmedBy = "arxiv_confirmed_by"
    }
}

/// Reported numbers exactly as the spec gives them; `nil` where the spec says they are unknown.
public struct ReportedValues: Codable, Equatable, Sendable {
    public var method: Double?
    public var baseline: Double?
    public var delta: Double?
    /// Speed claims only: the claimed throughput factor (3.1 for "3.1× faster", 0.99 for "<1% slower").
    public var ratio: Double?

    public init(method: Double?, baseline: Double?, delta: Double?, ratio: Double?) {
        self.method = method
        self.baseline = baseline
        self.delta = delta
        self.ratio = ratio
    }

    enum CodingKeys: String, CodingKey {
        case method, baseline, delta, ratio
    }
}

/// The PatchBench measurement that stands in for the paper's protocol.
public struct Proxy: Codable, Equatable, Sendable {
    /// One of `linear`, `knn`, `seg`, `det` (an eval file) or `pretrain` (derived from run.json).
    public var probe: String
    /// A metric key of that probe (Documentation/run-layout.md).
    public var metric: String
    /// Required `dataset.name` of the eval file; `nil` accepts whichever pack the probe ran on.
    public var dataset: String?
    /// A pack that stands in for `dataset` when no run pair was evaluated on it (the embedded
    /// default, `fashion-mnist`, for CIFAR's 32 px / 8 × 8 grid): a labelled dataset proxy, and
    /// the verdict says it was measured there (`ClaimResult.measuredOn`).
    public var datasetProxy: String?
    public var strength: ProxyStrength
    public var note: String
    /// Speed claims only: the claim's resolution in patches per side (448 px at patch 16 = 28).
    /// Such a claim is judged on `patchbench speed` rows at that grid (runs/speed/<budget>.json),
    /// not on the budget's own pretraining throughput.
    public var grid: Int?

    enum CodingKeys: String, CodingKey {
        case probe, metric, dataset, strength, note, grid
        case datasetProxy = "dataset_proxy"
    }
}

public struct Claim: Codable, Equatable, Sendable {
    /// Stable snake_case identifier; never reuse one for a different claim.
    public var id: String
    public var paper: Paper
    public var method: String
    public var baseline: String
    /// Dataset, metric and protocol as the paper reports them.
    public var dataset: String
    public var metric: String
    public var evaluationProtocol: String
    public var reported: ReportedValues
    /// Where the spec states the numbers (spec file and section, and the paper table or repo file it cites).
    public var source: String
    /// False where the spec marks a number as recalled/unverified ([R]) or inferred.
    public var verified: Bool
    public var direction: ClaimDirection
    public var proxy: Proxy
    public var note: String

    enum CodingKeys: String, CodingKey {
        case id, paper, method, baseline, dataset, metric
        case evaluationProtocol = "protocol"
        case reported, source, verified, direction, proxy, note
    }
}
