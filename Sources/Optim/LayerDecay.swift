import Foundation

/// Layer-wise learning-rate decay for ViT fine-tuning, MAE's `util/lr_decay.py`
/// (`param_groups_lrd` with `get_layer_id_for_vit`, after BEiT/ELECTRA), applied to timm
/// parameter names:
///
/// - layer id: `cls_token`, `pos_embed` and `patch_embed.*` → 0; `blocks.<i>.*` → i + 1; every
///   other name (final `norm`, `fc_norm`, `head`) → L = depth + 1;
/// - learning-rate scale of layer id l: decay^(L − l), so the head trains at the full rate and
///   the patch embedding at decay^L;
/// - weight decay: none for tensors of rank 1 (biases, norms) and for the names in
///   `noWeightDecay` (timm's `no_weight_decay()`: `pos_embed`, `cls_token`), `weightDecay`
///   for the rest.
public struct LayerDecay: Equatable, Sendable {
    /// One parameter's assignment.
    public struct Assignment: Equatable, Sendable {
        public var name: String
        public var layerID: Int
        public var learningRateScale: Double
        public var weightDecay: Double
        /// MAE's group name, `layer_<id>_decay` or `layer_<id>_no_decay`.
        public var group: String
    }

    /// timm's `VisionTransformer.no_weight_decay()`.
    public static let timmNoWeightDecay: Set<String> = ["pos_embed", "cls_token", "dist_token"]

    public var depth: Int
    public var decay: Double
    public var weightDecay: Double
    public var noWeightDecay: Set<String>

    public init(depth: Int, decay: Double, weightDecay: Double, noWeightDecay: Set<String> = LayerDecay.timmNoWeightDecay) {
        precondition(depth >= 1 && decay > 0 && decay <= 1 && weightDecay >= 0,
                     "layer decay needs depth ≥ 1, decay in (0, 1], weight decay ≥ 0")
        self.depth = depth
        self.decay = decay
        self.weightDecay = weightDecay
        self.noWeightDecay = noWeightDecay
    }

    /// L = depth + 1, `num_layers` in MAE's code.
    public var layerCount: Int { depth + 1 }

    /// `get_layer_id_for_vit(name, num_layers)`.
    public func layerID(of name: String) -> Int {
        if name == "cls_token" || name == "pos_embed" || name.hasPrefix("patch_embed") { return 0 }
        if name.hasPrefix("blocks") {
            let parts = name.split(separator: ".")
            guard parts.count > 1, let block = Int(parts[1]) else { preconditionFailure("parameter '\(name)' has no block index") }
            return block + 1
        }
        return layerCount
    }

    /// decay^(L − id), computed as MAE does (`layer_decay ** (num_layers - i)`).
    public func learningRateScale(layerID id: Int) -> Double { Foundation.pow(decay, Double(layerCount - id)) }

    /// Every parameter's layer id, learning-rate scale and weight decay, in the given order.
    /// `rank` is the tensor's number of dimensions (MAE tests `p.ndim == 1`).
    public func assignments(_ parameters: [(name: String, rank: Int)]) -> [Assignment] {
        parameters.map { parameter in
            let id = layerID(of: parameter.name)
            let decays = !(parameter.rank == 1 || noWeightDecay.contains(parameter.name))
            return Assignment(name: parameter.name, layerID: id, learningRateScale: learningRateScale(layerID: id),
                              weightDecay: decays ? weightDecay : 0, group: "layer_\(id)_\(decays ? "decay" : "no_decay")")
        }
    }

    /// The optimizer groups, MAE's `layer_<id>_<decay|no_decay>`: parameter indices sharing a
    /// layer id and a weight decay, in order of first appearance (as the Python dict keeps them).
    public func groups(_ parameters: [(name: String, rank: Int)])
        -> [(name: String, indices: [Int], learningRateScale: Double, weightDecay: Double)]
    {
        var groups: [(name: String, indices: [Int], learningRateScale: Double, weightDecay: Double)] = []
        for (index, a) in assignments(parameters).enumerated() {
            if let g = groups.firstIndex(where: { $0.name == a.group }) {
                groups[g].indices.append(index)
            } else {
                groups.append((a.group, [index], a.learningRateScale, a.weightDecay))
            }
        }
        return groups
    }
}
