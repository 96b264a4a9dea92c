import Foundation

/// A `patchbench speed` file (runs/speed/<budget>.json for LoMaR vs MAE, <budget>-densecl.json for
/// DenseCL vs MoCo-v2; schema "patchbench.speed/3"): a controlled comparison of two methods'
/// training steps on g × g grids, alternating one step of each per round. Speed claims with a
/// `proxy.grid` get their verdict from the rows at that grid of the file that times their pair
/// (for MAE: with the budget's decoder, see `claimDecoder`), rounds paired as seeds are.
public struct SpeedFile: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.speed/3"
    /// The MAE decoder a claim's verdict reads: the budget's, whose cost against the budget's
    /// encoder is near the papers' (ViT-B/16 with the 512-d 8-block decoder: LoMaR needs ~1/2.5 of
    /// MAE's FLOPs at 448 px; the tiny encoder with tiny's 128-d 2-block decoder: 1/2.2 at grid 28).
    /// The papers' decoder behind a 192-d 6-block encoder costs ~10× that encoder, which would
    /// make LoMaR ~40× faster for a reason the papers' setting does not have; its rows are
    /// reported beside (Documentation/Objectives/LoMaR.md, "Speed claims").
    public static let claimDecoder = "budget"

    public struct Methods: Codable, Equatable, Sendable {
        public var method: String
        public var baseline: String

        public init(method: String, baseline: String) {
            self.method = method
            self.baseline = baseline
        }
    }

    public struct Row: Codable, Equatable, Sendable {
        public var grid: Int
        public var imageSize: Int
        /// MAE's decoder ("budget" or "paper") and its size; nil for a pair without one.
        public var decoder: String?
        public var decoderDimension: Int?
        public var decoderDepth: Int?
        /// LoMaR's windows; nil for other pairs.
        public var windowSize: Int?
        public var windowCount: Int?
        public var batch: Int
        /// images/s per round, the baseline's and the method's (`methods`).
        public var baselineImagesPerSecond: [Double]
        public var methodImagesPerSecond: [Double]
        /// Median method images/s over median baseline images/s.
        public var speedup: Double
        /// Baseline FLOPs per image over the method's: the speedup a compute-bound machine shows.
        public var flopRatio: Double
        public var threads: Int

        public init(grid: Int, imageSize: Int, decoder: String? = nil, decoderDimension: Int? = nil, decoderDepth: Int? = nil,
                    windowSize: Int? = nil, windowCount: Int? = nil, batch: Int, baselineImagesPerSecond: [Double],
                    methodImagesPerSecond: [Double], speedup: Double, flopRatio: Double, threads: Int) {
            self.grid = grid
            self.imageSize = imageSize
            self.decoder = decoder
            self.decoderDimension = decoderDimension
            self.decoderDepth = decoderDepth
            self.windowSize = windowSize
            self.windowCount = windowCount
            self.batch = batch
            self.baselineImagesPerSecond = baselineImagesPerSecond
            self.methodImagesPerSecond = methodImagesPerSecond
            self.speedup = speedup
            self.flopRatio = flopRatio
            self.threads = threads
        }
    }

    /// runs/speed/<this>: `<budget>.json` for LoMaR vs MAE (the first pair), `<budget>-<method>.json` for the others.
    public static func fileName(budget: String, method: String) -> String {
        method == "lomar" ? "\(budget).json" : "\(budget)-\(method).json"
    }

    public var schema: String
    public var budget: String
    public var methods: Methods
    public var rows: [Row]

    /// Reads one file; errors name it.
    public static func read(_ path: String) throws -> SpeedFile {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let file: SpeedFile
        do { file = try decoder.decode(SpeedFile.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ResultsError.decoding(error, file: path)
        }
        guard file.schema == schemaName else {
            throw ResultsError("\(path): schema is '\(file.schema)', expected '\(schemaName)' (rerun patchbench speed)")
        }
        for row in file.rows where row.baselineImagesPerSecond.count != row.methodImagesPerSecond.count {
            throw ResultsError("\(path): grid \(row.grid) has \(row.baselineImagesPerSecond.count) \(file.methods.baseline) rounds "
                + "and \(row.methodImagesPerSecond.count) \(file.methods.method) rounds")
        }
        return file
    }

    /// round → images/s of `method` at `grid` (with the claims' decoder where the pair has one);
    /// empty when not measured.
    public func values(method name: String, grid: Int) -> [Int: Double] {
        guard let row = rows.first(where: { $0.grid == grid && ($0.decoder == nil || $0.decoder == Self.claimDecoder) }) else {
            return [:]
        }
        let rates: [Double]
        if name == methods.method { rates = row.methodImagesPerSecond }
        else if name == methods.baseline { rates = row.baselineImagesPerSecond }
        else { return [:] }
        return Dictionary(uniqueKeysWithValues: rates.enumerated().map { ($0.offset, $0.element) })
    }
}
