import Datasets
import Layers
import Objectives
import TensorCore

/// The methods `patchbench pretrain` knows, and how each is built from a budget.
public enum Method: String, CaseIterable, Sendable {
    case mae
    case lomar
    /// LoMaR with a per-head (H × 50) bias table instead of the contextual iRPE: a named,
    /// simpler variant (Documentation/Objectives/LoMaR.md).
    case lomarRPETable = "lomar-rpe-table"
    /// DINO (Caron et al.): self-distillation of the CLS token with an EMA teacher.
    case dino
    /// SelfPatch (Yun et al.): DINO plus same-view patch distillation against aggregated neighbours.
    case selfpatch
    /// SelfPatch's architecture (no backbone CLS, class-attention head) with DINO's loss only
    /// (λ = 0): separates SelfPatch's loss from its architecture change (spec §6 q2).
    case dinoCA = "dino-ca"
    /// The floor: an encoder drawn from the seed's init stream and never trained.
    case randomInit = "random-init"

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    public static func named(_ name: String) throws -> Method {
        guard let m = Method(rawValue: name) else {
            throw HarnessError("unknown method '\(name)'; choose one of \(names)")
        }
        return m
    }

    /// The encoder this method pretrains (position embedding depends on the method).
    public func encoderConfig(_ budget: Budget) -> ViTConfig {
        switch self {
        case .mae, .randomInit: return budget.vitConfig(positionEmbedding: .sinCos)
        case .lomar, .lomarRPETable: return budget.vitConfig(positionEmbedding: .none)
        // DINO's ViT learns its position embedding and interpolates it for the local crops.
        case .dino:
            var config = budget.vitConfig(positionEmbedding: .learned)
            config.positionInterpolationOffset = 0.1
            return config
        // SelfPatch's backbone: patch tokens only, no final norm (the aggregation module has them).
        case .selfpatch, .dinoCA:
            var config = budget.vitConfig(positionEmbedding: .learned)
            config.positionInterpolationOffset = 0.1
            config.clsToken = false
            config.finalNorm = false
            return config
        }
    }

    /// The views the loader makes of each image: the budget's single MAE-style view.
    public func recipe(_ budget: Budget) -> MultiCropRecipe {
        switch self {
        case .mae, .lomar, .lomarRPETable, .randomInit: return budget.recipe
        case .dino:
            return DINO.recipe(budget.methods.dino, globalSize: budget.augmentation.size, mean: budget.augmentation.mean,
                               std: budget.augmentation.std)
        case .selfpatch, .dinoCA:
            return DINO.recipe(budget.methods.selfpatch.dino, globalSize: budget.augmentation.size,
                               mean: budget.augmentation.mean, std: budget.augmentation.std)
        }
    }

    /// SelfPatch's settings; `dino-ca` is the same with λ = 0.
    public func selfPatchConfig(_ budget: Budget) -> SelfPatch.Config {
        var c = budget.methods.selfpatch
        if self == .dinoCA { c.patchLossWeight = 0 }
        return c
    }

    /// The method's own settings as resolved from the budget.
    public func lomarConfig(_ budget: Budget) -> LoMaR.Config {
        var c = budget.methods.lomar
        c.relativePosition = self == .lomarRPETable ? .table : .contextualProduct
        return c
    }

    /// Builds the objective (nil for random-init), drawing every initial weight from `rng`.
    public func makeObjective(_ budget: Budget, rng: inout RandomStream) -> Objective? {
        switch self {
        case .mae: return MAE(encoder: encoderConfig(budget), config: budget.methods.mae, rng: &rng)
        case .lomar, .lomarRPETable: return LoMaR(encoder: encoderConfig(budget), config: lomarConfig(budget), rng: &rng)
        case .dino: return DINO(encoder: encoderConfig(budget), config: budget.methods.dino, rng: &rng)
        case .selfpatch, .dinoCA:
            return SelfPatch(encoder: encoderConfig(budget), config: selfPatchConfig(budget), methodName: rawValue, rng: &rng)
        case .randomInit: return nil
        }
    }
}
