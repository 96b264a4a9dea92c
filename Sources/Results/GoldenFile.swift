import Foundation

/// results/goldens/<budget>.json (schema "patchbench.golden/1"): committed numbers a fresh run must reproduce.
/// `value_bits` holds the IEEE-754 bit pattern so `bitwise` entries compare exactly, whatever JSON parsers do.
public struct GoldenFile: Codable, Equatable, Sendable {
    public static let schemaName = "patchbench.golden/1"

    /// What the numbers were produced with. Every number depends on the float32 GEMM's
    /// accumulation order and the thread count (not on the CPU: every GEMM path gives the same
    /// bits); the numbers of probes that use float64 OpenBLAS (`ProbeMetricRegistry
    /// .float64BLASProbes`) also depend on OpenBLAS's kernel.
    public struct Environment: Codable, Equatable, Sendable {
        /// OPENBLAS_CORETYPE when the golden was written; nil when it was unset (OpenBLAS picked the kernel).
        public var openblasCoretype: String?
        /// Thread count recorded in the runs' run.json; nil when runs disagreed.
        public var threads: Int?
        /// OpenBLAS description (config and kernel) recorded in the runs' run.json; nil when runs disagreed.
        public var blas: String?
        /// The float32 GEMM's accumulation order recorded in the runs' run.json; nil when runs
        /// disagreed or predate it.
        public var gemmOrder: String?

        public init(openblasCoretype: String?, threads: Int?, blas: String?, gemmOrder: String?) {
            self.openblasCoretype = openblasCoretype
            self.threads = threads
            self.blas = blas
            self.gemmOrder = gemmOrder
        }

        enum CodingKeys: String, CodingKey {
            case openblasCoretype = "openblas_coretype"
            case threads, blas
            case gemmOrder = "gemm_order"
        }
    }

    public struct Entry: Codable, Equatable, Sendable {
        public var method: String
        public var seed: Int
        public var probe: String
        public var metric: String
        public var value: Double
        /// Hex bit pattern of `value`, e.g. "0x4054500000000000".
        public var valueBits: String
        /// Absolute tolerance used unless `bitwise` applies.
        public var tolerance: Double
        /// Exact equality when the environment matches the one recorded.
        public var bitwise: Bool
        /// The evaluation's image subset (`all`, `first 6000 train / 2000 test images`); nil for the
        /// pretraining loss and in older files. A different subset is a protocol mismatch.
        public var subset: String? = nil

        enum CodingKeys: String, CodingKey {
            case method, seed, probe, metric, value
            case valueBits = "value_bits"
            case tolerance, bitwise, subset
        }

        var label: String { "\(method)/seed\(seed) \(probe)/\(metric)" }
    }

    public var schema: String
    public var budget: String
    public var environment: Environment
    /// Sorted by method, seed, probe, metric.
    public var entries: [Entry]

    public static func bits(_ value: Double) -> String {
        let hex = String(value.bitPattern, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    public static func load(path: String) throws -> GoldenFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ResultsError("\(path): cannot read golden file: \(error.localizedDescription)")
        }
        let golden: GoldenFile
        do {
            golden = try JSONDecoder().decode(GoldenFile.self, from: data)
        } catch {
            throw ResultsError.decoding(error, file: path)
        }
        guard golden.schema == schemaName else {
            throw ResultsError("\(path): schema is '\(golden.schema)', expected '\(schemaName)'")
        }
        for entry in golden.entries {
            guard entry.tolerance >= 0, entry.tolerance.isFinite else {
                throw ResultsError("\(path): \(entry.label): tolerance must be a non-negative number")
            }
            guard let pattern = UInt64(entry.valueBits.dropFirst(2), radix: 16), entry.valueBits.hasPrefix("0x") else {
                throw ResultsError("\(path): \(entry.label): value_bits '\(entry.valueBits)' is not 0x + 16 hex digits")
            }
            guard Double(bitPattern: pattern) == entry.value || (entry.value.isNaN && Double(bitPattern: pattern).isNaN)
            else {
                throw ResultsError(
                    "\(path): \(entry.label): value \(entry.value) and value_bits \(entry.valueBits) disagree")
            }
        }
        return golden
    }

    /// Canonical JSON text (sorted keys), so regenerating an unchanged golden gives an identical file.
    public func canonicalText() -> String {
        let values: [JSONValue] = entries.map { entry in
            var fields: [String: JSONValue] = [
                "method": .string(entry.method), "seed": .integer(entry.seed), "probe": .string(entry.probe),
                "metric": .string(entry.metric), "value": .number(entry.value), "value_bits": .string(entry.valueBits),
                "tolerance": .number(entry.tolerance), "bitwise": .bool(entry.bitwise),
            ]
            if let subset = entry.subset { fields["subset"] = .string(subset) }
            return .object(fields)
        }
        return JSONValue.object([
            "schema": .string(schema), "budget": .string(budget),
            "environment": .object([
                "openblas_coretype": .optional(environment.openblasCoretype),
                "threads": environment.threads.map { .integer($0) } ?? .null, "blas": .optional(environment.blas),
                "gemm_order": .optional(environment.gemmOrder),
            ]),
            "entries": .array(values),
        ]).canonicalText()
    }
}
