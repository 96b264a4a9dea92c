import Foundation
import TensorCore

/// Reader of PBFX fixture files written by Scripts/reference/fixture_format.py:
/// magic "PBFX", u32 version 1, u32 count, then (u32 name length, name, u32 rank, dims, f32 data).
public struct Fixture {
    public private(set) var entries: [String: (shape: [Int], values: [Float])] = [:]
    public private(set) var names: [String] = []

    public enum FixtureError: Error, CustomStringConvertible {
        case malformed(String, String)
        case missing(String, String)
        public var description: String {
            switch self {
            case .malformed(let f, let why): return "\(f): malformed fixture: \(why)"
            case .missing(let f, let key): return "\(f): no entry '\(key)'"
            }
        }
    }

    let path: String

    public init(path: String) throws {
        self.path = path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var offset = 0
        func u32() throws -> Int {
            guard offset + 4 <= data.count else { throw FixtureError.malformed(path, "truncated at byte \(offset)") }
            let v = data[offset..<(offset + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            offset += 4
            return Int(UInt32(littleEndian: v))
        }
        guard data.count >= 12, data.prefix(4) == Data("PBFX".utf8) else { throw FixtureError.malformed(path, "bad magic") }
        offset = 4
        guard try u32() == 1 else { throw FixtureError.malformed(path, "unsupported version") }
        let count = try u32()
        for _ in 0..<count {
            let len = try u32()
            guard offset + len <= data.count else { throw FixtureError.malformed(path, "truncated name") }
            let name = String(decoding: data[offset..<(offset + len)], as: UTF8.self)
            offset += len
            let rank = try u32()
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(try u32()) }
            let n = shape.reduce(1, *)
            guard offset + 4 * n <= data.count else { throw FixtureError.malformed(path, "truncated data of '\(name)'") }
            let values = data[offset..<(offset + 4 * n)].withUnsafeBytes { raw in
                (0..<n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            offset += 4 * n
            entries[name] = (shape, values)
            names.append(name)
        }
    }

    public func tensor(_ name: String, dtype: DType = .float32) throws -> Tensor {
        guard let e = entries[name] else { throw FixtureError.missing(path, name) }
        return Tensor(e.values.map(Double.init), shape: e.shape, dtype: dtype)
    }

    public func values(_ name: String) throws -> [Float] {
        guard let e = entries[name] else { throw FixtureError.missing(path, name) }
        return e.values
    }
}

/// Absolute path of a file next to the calling test source.
public func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

extension Fixture {
    /// Writes entries in the PBFX format (the inverse of `init(path:)`), float32 values.
    public static func write(_ entries: [(String, Tensor)], to path: String) throws {
        var data = Data("PBFX".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        u32(1)
        u32(entries.count)
        for (name, t) in entries {
            let nb = Array(name.utf8)
            u32(nb.count)
            data.append(contentsOf: nb)
            u32(t.rank)
            for d in t.shape { u32(d) }
            for v in t.floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Runs a command and returns (exit status, combined output); nil when it cannot start.
public func runProcess(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String)? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// True when `python3 -c "import <modules>"` succeeds.
public func pythonHas(_ modules: [String]) -> Bool {
    guard let r = runProcess("/usr/bin/env", ["python3", "-c", "import " + modules.joined(separator: ", ")]) else { return false }
    return r.status == 0
}
