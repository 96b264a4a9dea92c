/// Probes and metric keys as fixed by Documentation/run-layout.md, plus the `pretrain` pseudo-probe whose
/// numbers the Results module derives from run.json and log.jsonl (it has no eval file).
public enum ProbeMetricRegistry {
    /// The pseudo-probe for numbers measured during pretraining.
    public static let pretrainProbe = "pretrain"
    /// Pretraining throughput: provenance.images_seen / provenance.wall_seconds of run.json.
    public static let imagesPerSecond = "images_per_second"
    /// The loss of the last line of log.jsonl.
    public static let finalLoss = "final_loss"

    /// Probe name → its metric keys, in display order. Ordered pairs, never a dictionary walk.
    public static let metricsByProbe: [(probe: String, metrics: [String])] = [
        ("linear", ["top1", "C"]),
        ("knn", ["top1_k20_t0.07", "top1_k200_t0.1"]),
        ("seg", ["mIoU", "aAcc"]),
        // AP50 first: the det probe's headline (Documentation/evaluation.md, "Box head").
        ("det", ["AP50", "AP", "AP75", "APs", "APm", "APl", "AP50_agnostic", "AP_agnostic"]),
        ("patch-knn", ["mIoU", "aAcc"]),
        // End-to-end fine-tuning (Documentation/evaluation.md): test top-1, and the labelled subset's.
        ("finetune", ["top1", "train_top1"]),
        (pretrainProbe, [imagesPerSecond, finalLoss]),
    ]

    /// Probes whose numbers go through float64 OpenBLAS (the linear probe's logistic regression),
    /// so their bits also follow OpenBLAS's kernel; every other number depends only on
    /// PatchBench's own float32 GEMM and kernels.
    public static let float64BLASProbes: Set<String> = ["linear"]

    /// Probes that have an `eval/<probe>.json` file.
    public static var evalProbes: [String] {
        metricsByProbe.map(\.probe).filter { $0 != pretrainProbe }
    }

    public static func metrics(of probe: String) -> [String]? {
        metricsByProbe.first { $0.probe == probe }?.metrics
    }

    public static func isKnown(probe: String, metric: String) -> Bool {
        metrics(of: probe)?.contains(metric) ?? false
    }

    /// Position of a metric in its probe's display order; unknown keys sort after known ones.
    static func displayRank(probe: String, metric: String) -> Int {
        metrics(of: probe)?.firstIndex(of: metric) ?? Int.max
    }

    /// pycocotools writes −1 for an AP it cannot define (no ground-truth object in that area range):
    /// such a value is "undefined", never a number to average or compare.
    public static func isUndefined(probe: String, value: Double) -> Bool {
        probe == "det" && value == -1
    }

    /// Whether a metric is a percentage (printed with two decimals) rather than a free-scale number.
    static func isPercentage(probe: String, metric: String) -> Bool {
        if probe == pretrainProbe { return false }
        return metric != "C"
    }
}
