import Foundation

/// The PatchBench checkout this binary was built in, so the CLI works from any folder: a
/// `swift build` puts the executable at <checkout>/.build/<config>/patchbench, and the checkout is
/// the nearest folder above the executable's real path that holds configs/budgets/ and
/// results/claims.json. Repository files (budgets, the claims registry) are read relative to the
/// working folder when they exist there, else relative to the checkout.
public enum Checkout {
    public static let root: String? = {
        guard let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return nil }
        var folder = executable.deletingLastPathComponent()
        while folder.path != "/" {
            let budgets = folder.appendingPathComponent("configs/budgets").path
            let claims = folder.appendingPathComponent("results/claims.json").path
            if FileManager.default.fileExists(atPath: budgets), FileManager.default.fileExists(atPath: claims) {
                return folder.path
            }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }()

    /// `relative` in the working folder when it exists there, else in the checkout (else as given,
    /// so the caller's error names the path it tried).
    public static func resolve(_ relative: String) -> String {
        if relative.hasPrefix("/") || FileManager.default.fileExists(atPath: relative) { return relative }
        guard let root else { return relative }
        let candidate = (root as NSString).appendingPathComponent(relative)
        return FileManager.default.fileExists(atPath: candidate) ? candidate : relative
    }
}
