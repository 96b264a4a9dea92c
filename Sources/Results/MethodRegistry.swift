/// The base methods PatchBench knows about. Run directories and claims name methods by these strings
/// (or by a variant declared in the claims file whose `base` is one of them).
public enum MethodRegistry {
    public static let baseMethods: [String] = [
        "mae", "lomar", "dino", "selfpatch", "mocov2", "densecl",
        "relational-reasoning", "spatial-reasoning", "randsac", "random-init",
    ]

    /// The untrained floor; tables list it last so it reads as the bottom line.
    public static let randomInit = "random-init"
}
