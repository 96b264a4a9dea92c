import Foundation
import Harness
import Testing

/// Crafted budget values that used to trap (a division by a zero patch or head count, a
/// negative depth, a reversed crop range reaching `low...high`) are refused at load with the
/// file, the key and the rule.
@Suite struct BudgetValidationTests {
    /// The smoke budget with one value replaced (`path` is "section.key" or a top-level key).
    func crafted(_ path: String, _ value: Any, _ name: String) throws -> String {
        let file = Budget.path(named: "smoke", root: HarnessFixtures.root)
        var json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        let keys = path.split(separator: ".").map(String.init)
        if keys.count == 1 {
            json[keys[0]] = value
        } else if keys.count == 2 {
            var section = (json[keys[0]] as? [String: Any]) ?? [:]
            section[keys[1]] = value
            json[keys[0]] = section
        } else {
            var section = (json[keys[0]] as? [String: Any]) ?? [:]
            var inner = (section[keys[1]] as? [String: Any]) ?? [:]
            inner[keys[2]] = value
            section[keys[1]] = inner
            json[keys[0]] = section
        }
        let out = HarnessFixtures.temporaryDirectory("budget-\(name)") + "/\(name).json"
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: out))
        return out
    }

    @Test(arguments: [
        ("encoder.patch_size", 0 as Any, "encoder.patch_size is 0"),
        ("encoder.heads", 0, "encoder.heads is 0"),
        ("encoder.depth", -1, "encoder.depth is -1"),
        ("encoder.image_size", -32, "encoder.image_size is -32"),
        ("encoder.dimension", 0, "encoder.dimension is 0"),
        ("encoder.mlp_ratio", 0, "encoder.mlp_ratio"),
        ("augmentation.scale", [1.0, 0.2], "augmentation.scale is [1.0, 0.2]"),
        ("augmentation.ratio", [1.3333, 0.75], "augmentation.ratio is [1.3333, 0.75]"),
        ("augmentation.scale", [0.0, 1.0], "augmentation.scale is [0.0, 1.0]"),
        ("augmentation.std", [0.0, 0.2, 0.2], "augmentation.std"),
        ("batch_size", -32, "batch_size"),
        ("optimizer.beta2", 1.5, "betas"),
        ("methods.mae", ["decoder_heads": 0] as [String: Any], "decoder needs depth"),
        ("methods.mae", ["decoder_depth": -1] as [String: Any], "decoder needs depth"),
        ("methods.dino", ["local_scale": [0.35, 0.1]] as [String: Any], "local_scale is [0.35, 0.1]"),
        ("methods.dino", ["local_size": 0] as [String: Any], "local_size"),
        ("methods.relational_reasoning", ["crop_scale": [1.0, 0.2]] as [String: Any], "crop_scale is [1.0, 0.2]"),
    ] as [(String, Any, String)])
    func aCraftedValueIsRefusedNamingTheFileAndTheRule(path: String, value: Any, message: String) throws {
        // Named by the crafted value, not the message: two cases share "decoder needs depth", and
        // cases run in parallel, each clearing its directory first.
        let name = String((path + "\(value)").map { $0.isLetter || $0.isNumber ? $0 : "-" })
        let file = try crafted(path, value, name)
        #expect { try Budget.load(path: file) } throws: { "\($0)".contains(file) && "\($0)".contains(message) }
    }
}
