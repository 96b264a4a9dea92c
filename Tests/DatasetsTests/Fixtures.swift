import Foundation

/// The committed fixtures (Scripts/reference/make_dataset_fixtures.py) and their expectations.
enum Fixtures {
    static let root: String = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    static func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    static let expectations: [String: Any] = {
        let data = FileManager.default.contents(atPath: path("expectations.json"))!
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func object(_ keys: String...) -> [String: Any] {
        var current: Any = expectations
        for key in keys { current = (current as! [String: Any])[key]! }
        return current as! [String: Any]
    }

    static func ints(_ value: Any?) -> [Int] { (value as! [NSNumber]).map(\.intValue) }
    static func bytes(_ value: Any?) -> [UInt8] { ints(value).map { UInt8($0) } }

    /// Copies a fixture folder into `directory` so a test can damage it.
    static func copy(_ relative: String, into directory: TestDirectory) throws -> String {
        let destination = directory.path((relative as NSString).lastPathComponent)
        try FileManager.default.copyItem(atPath: path(relative), toPath: destination)
        return destination
    }
}
