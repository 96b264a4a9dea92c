import Foundation

/// Paths of committed fixture files (Tests/MetricsTests/Fixtures, copied as a resource).
enum Fixture {
    static func path(_ name: String) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("missing fixture \(name); regenerate with Scripts/reference/")
        }
        return url.path
    }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// Little-endian float32/int32 binary fixture files written by the reference scripts.
    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func int32s(_ name: String) throws -> [Int32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}
