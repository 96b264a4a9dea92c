import Foundation

/// A `patchbench speed` file (runs/speed/<budget>.json, schema "patchbench.speed/2"): a controlled
/// comparison of two methods' training steps on g × g grids, alternating one step of each per
/// round. Speed claims with a `proxy.grid` get their verdict from the rows at that grid with the
/// papers' MAE decoder, rounds paired as seeds are.
public struct SpeedFile: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.speed/2"
    /// The decoder a claim's verdict reads (MAE's and LoMaR's papers time this one).
    public static let claimDecoder = "paper"

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
        public var decoder: String
        public var decoderDimension: Int
        public var decoderDepth: Int
        public var windowSize: Int
        public var windowCount: Int
        public var batch: Int
        /// images/s per round, the baseline's (MAE) and the method's (LoMaR).
        public var maeImagesPerSecond: [Double]
        public var lomarImagesPerSecond: [Double]
        public var speedup: Double
        public var flopRatio: Double
        public var threads: Int

        public init(grid: Int, imageSize: Int, decoder: String, decoderDimension: Int, decoderDepth: Int, windowSize: Int,
                    windowCount: Int, batch: Int, maeImagesPerSecond: [Double], lomarImagesPerSecond: [Double],
                    speedup: Double, flopRatio: Double, threads: Int) {
            self.grid = grid
            self.imageSize = imageSize
            self.decoder = decoder
            self.decoderDimension = decoderDimension
            self.decoderDepth = decoderDepth
            self.windowSize = windowSize
            self.windowCount = windowCount
            self.batch = batch
            self.maeImagesPerSecond = maeImagesPerSecond
            self.lomarImagesPerSecond = lomarImagesPerSecond
            self.speedup = speedup
            self.flopRatio = flopRatio
            self.threads = threads
        }
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
        for row in file.rows where row.maeImagesPerSecond.count != row.lomarImagesPerSecond.count {
            throw ResultsError("\(path): grid \(row.grid) has \(row.maeImagesPerSecond.count) MAE rounds and "
                + "\(row.lomarImagesPerSecond.count) LoMaR rounds")
        }
        return file
    }

    /// round → images/s of `method` at `grid` with the claims' decoder; empty when not measured.
    public func values(method name: String, grid: Int) -> [Int: Double] {
        guard let row = rows.first(where: { $0.grid == grid && $0.decoder == Self.claimDecoder }) else { return [:] }
        let rates: [Double]
        if name == methods.method { rates = row.lomarImagesPerSecond }
        else if name == methods.baseline { rates = row.maeImagesPerSecond }
        else { return [:] }
        return Dictionary(uniqueKeysWithValues: rates.enumerated().map { ($0.offset, $0.element) })
    }
}
