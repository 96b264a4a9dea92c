/// The source this binary was compiled from, written at build time by the SourceStamp plugin
/// (Plugins/SourceStamp): the checkout's commit and whether tracked files differed from it.
public enum BuildStamp {
    /// Full commit hash, or "unknown" when built outside a git checkout.
    public static let commit: String = sourceCommit
    /// Tracked files differed from `commit` when the binary was built.
    public static let dirty: Bool = sourceDirty
}
