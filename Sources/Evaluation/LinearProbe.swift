import Foundation
import TensorCore

/// Linear probe on frozen features: multinomial logistic regression with an L2 penalty (the
/// objective of scikit-learn's LogisticRegression(C, lbfgs), see MultinomialLogisticLoss),
/// fitted by L-BFGS in Double on standardised features, preconditioned by the class-diagonal
/// blocks of the Hessian (ClassBlockPreconditioner; without it the weakly regularised half of
/// the grid ran to the iteration cap on real ViT features).
///
/// Protocol: a seeded stratified validation split (default 20 %) is carved from the training
/// rows; the standardiser is fitted on the remaining rows; every C of the grid is fitted
/// (ascending, each warm-started from the previous solution) and scored on the validation rows;
/// the best C (highest validation top-1, the smaller C on ties) is refitted on train + val
/// with a standardiser fitted on train + val, starting from the sweep's solution at that C
/// rewritten for the new standardiser (the same logits); the test set is scored once.
public enum LinearProbe {
    public struct Configuration: Sendable, Equatable {
        /// Grid of C (inverse regularisation strengths). Default: 10^-4 … 10^4 in half decades (17 values);
        /// the upper end reaches past 10^2 because untrained encoders chose 10^2, the old top.
        public var strengths: [Double] = stride(from: -4.0, through: 4.0, by: 0.5).map { Foundation.pow(10, $0) }
        public var validationFraction = 0.2
        /// Standardise features with train statistics (false: raw features).
        public var standardize = true
        public var maxIterations = 500
        /// On max |∇f| of the mean loss (scipy's gtol).
        public var gradientTolerance = 1e-6
        public var historySize = 10
        /// Precondition L-BFGS with the class-diagonal Hessian blocks (false: plain L-BFGS).
        public var preconditioned = true
        /// Features wider than this are fitted without the preconditioner: building its K
        /// blocks costs as much as ~30 loss evaluations per fit at D = 192 (Benchmarks:
        /// 410 ms vs 14 ms, 40,000 rows), a cost that grows in proportion to D, so it buys a
        /// 4–5× shorter sweep at ViT widths but would cost more than it saves at colour raw-pixel
        /// widths (3,072; a grey pack's raw pixels are 1,024, see GreyChannels). 1,536 covers
        /// DINO's readout (the last 4 blocks' CLS tokens: 768 at tiny, 1,536 at 384 wide), where
        /// plain L-BFGS ran 16 of 18 fits to the cap.
        public var preconditionerMaxDimension = 1536

        public init() {}

        /// The settings for the `protocol` object of a metrics file.
        public var protocolSettings: [String: ProtocolValue] {
            ["objective": .string("multinomial logistic regression, L2, sklearn scaling (1/n CE + ||W||^2/(2Cn))"),
             "optimizer": .string(preconditioned
                 ? "L-BFGS (Armijo backtracking), float64, preconditioned by the class-diagonal Hessian blocks at each fit's start when D <= preconditioner_max_dimension"
                 : "L-BFGS (Armijo backtracking), float64"),
             "preconditioner_max_dimension": .integer(preconditioned ? preconditionerMaxDimension : 0),
             "refit_start": .string("the sweep's solution at the chosen C, rewritten for the train + val standardiser"),
             "strengths": .list(strengths.map { .number($0) }),
             "validation_fraction": .number(validationFraction),
             "standardize": .bool(standardize),
             "max_iterations": .integer(maxIterations),
             "gradient_tolerance": .number(gradientTolerance),
             "history_size": .integer(historySize)]
        }
    }

    /// A fitted classifier: standardise, then z = x W + b, argmax.
    public struct Model: Sendable, Equatable {
        public let standardizer: FeatureStandardizer
        /// [D, K] row-major.
        public let weights: [Double]
        /// [K].
        public let bias: [Double]
        public let classes: Int
        /// C it was fitted with.
        public let inverseStrength: Double

        /// features: [N, D] → predicted class per row (lowest class index on ties).
        public func predict(_ features: [Float]) -> [Int32] {
            let d = standardizer.dimension, k = classes
            let x = standardizer.apply(features)
            let n = x.count / d
            var z = [Double](repeating: 0, count: n * k)
            for i in 0..<n { for c in 0..<k { z[i * k + c] = bias[c] } }
            x.withUnsafeBufferPointer { xp in
                weights.withUnsafeBufferPointer { w in
                    z.withUnsafeMutableBufferPointer { zp in
                        MatrixProducts.dgemm(m: n, n: k, k: d, a: xp.baseAddress!, lda: d, b: w.baseAddress!, ldb: k,
                                             beta: 1, c: zp.baseAddress!, ldc: k)
                    }
                }
            }
            return (0..<n).map { i in
                var best = 0
                for c in 1..<k where z[i * k + c] > z[i * k + best] { best = c }
                return Int32(best)
            }
        }

        /// Top-1 accuracy in percent.
        public func accuracy(features: [Float], labels: [Int32]) -> Double {
            let predicted = predict(features)
            return 100 * Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
        }
    }

    public struct Result: Sendable {
        /// The refitted model at the chosen C.
        public let model: Model
        public let chosenStrength: Double
        /// Validation top-1 (percent) per grid entry, in grid order.
        public let validationAccuracy: [Double]
        /// L-BFGS iterations per grid entry, then the refit.
        public let iterations: [Int]

        /// One pass over the test set: the metrics of run-layout.md, `top1` (percent) and `C`.
        public func evaluate(testFeatures: [Float], testLabels: [Int32]) throws -> [String: Double] {
            let d = model.standardizer.dimension
            try InputChecks.features(testFeatures, rows: testLabels.count, dimension: d, name: "linear probe test features")
            try InputChecks.labels(testLabels, classes: model.classes, name: "linear probe test labels")
            return [MetricKey.top1: model.accuracy(features: testFeatures, labels: testLabels), MetricKey.strength: chosenStrength]
        }
    }

    /// Metric keys of eval/linear.json.
    public enum MetricKey {
        public static let top1 = "top1"
        public static let strength = "C"
    }

    /// One finished fit, for progress output: the sweep's fits in ascending C, then the refit.
    public struct FitReport: Sendable {
        /// 1-based; the refit is the last, `count`.
        public let index: Int
        /// Grid size + 1 (the refit).
        public let count: Int
        public let strength: Double
        public let iterations: Int
        /// Validation top-1 (percent); nil for the refit on train + val.
        public let validationAccuracy: Double?
    }

    /// Sweeps C on a validation split of the training rows and refits at the best C.
    /// trainFeatures: [N, D]; trainLabels: [N] in 0..<classes; `rng` draws the split;
    /// `progress` hears of each fit as it ends (a sweep on wide features can take an hour).
    public static func fit(trainFeatures: [Float], trainLabels: [Int32], dimension: Int, classes: Int,
                           configuration: Configuration = Configuration(), rng: inout RandomStream,
                           progress: ((FitReport) -> Void)? = nil) throws -> Result {
        try InputChecks.features(trainFeatures, rows: trainLabels.count, dimension: dimension, name: "linear probe train features")
        try InputChecks.labels(trainLabels, classes: classes, name: "linear probe train labels")
        guard classes >= 2 else { throw EvaluationError.invalidInput("linear probe: need at least 2 classes") }
        guard !configuration.strengths.isEmpty, configuration.strengths.allSatisfy({ $0 > 0 }) else {
            throw EvaluationError.invalidInput("linear probe: the grid of C must be non-empty and positive")
        }
        let (kept, heldOut) = StratifiedSplit.split(labels: trainLabels, classes: classes,
                                                   heldOutFraction: configuration.validationFraction, rng: &rng)
        let fitRows = StratifiedSplit.rows(trainFeatures, dimension: dimension, indices: kept)
        let fitLabels = kept.map { trainLabels[$0] }
        let validationRows = StratifiedSplit.rows(trainFeatures, dimension: dimension, indices: heldOut)
        let validationLabels = heldOut.map { trainLabels[$0] }
        let strengths = configuration.strengths.sorted()
        var accuracies: [Double] = []
        var iterations: [Int] = []
        var solutions: [[Double]] = []
        let standardizer = makeStandardizer(fitRows, dimension: dimension, configuration: configuration)
        let standardized = standardizer.apply(fitRows)
        for strength in strengths {
            let (model, outcome) = try fitFixed(standardized: standardized, labels: fitLabels, standardizer: standardizer,
                                                classes: classes, inverseStrength: strength,
                                                configuration: configuration, start: solutions.last)
            solutions.append(outcome.solution)
            iterations.append(outcome.iterations)
            accuracies.append(model.accuracy(features: validationRows, labels: validationLabels))
            progress?(FitReport(index: accuracies.count, count: strengths.count + 1, strength: strength,
                                iterations: outcome.iterations, validationAccuracy: accuracies.last))
        }
        var best = 0
        for i in 1..<strengths.count where accuracies[i] > accuracies[best] { best = i }
        let chosen = strengths[best]
        let finalStandardizer = makeStandardizer(trainFeatures, dimension: dimension, configuration: configuration)
        let refitStart = rewrite(solutions[best], classes: classes, from: standardizer, to: finalStandardizer)
        let (model, outcome) = try fitFixed(standardized: finalStandardizer.apply(trainFeatures), labels: trainLabels,
                                            standardizer: finalStandardizer, classes: classes, inverseStrength: chosen,
                                            configuration: configuration, start: refitStart)
        progress?(FitReport(index: strengths.count + 1, count: strengths.count + 1, strength: chosen,
                            iterations: outcome.iterations, validationAccuracy: nil))
        // Report accuracies in the caller's grid order.
        let gridOrder = configuration.strengths.map { c in accuracies[strengths.firstIndex(of: c)!] }
        let iterationOrder = configuration.strengths.map { c in iterations[strengths.firstIndex(of: c)!] }
        return Result(model: model, chosenStrength: chosen, validationAccuracy: gridOrder,
                      iterations: iterationOrder + [outcome.iterations])
    }

    /// Fits at one C on all given rows (standardiser fitted on them when configured).
    public static func fit(features: [Float], labels: [Int32], dimension: Int, classes: Int, inverseStrength: Double,
                           configuration: Configuration = Configuration()) throws -> (model: Model, objective: Double) {
        try InputChecks.features(features, rows: labels.count, dimension: dimension, name: "linear probe features")
        try InputChecks.labels(labels, classes: classes, name: "linear probe labels")
        let standardizer = makeStandardizer(features, dimension: dimension, configuration: configuration)
        let (model, outcome) = try fitFixed(standardized: standardizer.apply(features), labels: labels,
                                            standardizer: standardizer, classes: classes,
                                            inverseStrength: inverseStrength, configuration: configuration, start: nil)
        return (model, outcome.value)
    }

    /// θ = [W, b] for features standardised by `old` → the θ′ giving the same logits on
    /// features standardised by `new`: x = μ′ + σ′u, so W′ⱼ = (σ′ⱼ / σⱼ) Wⱼ and
    /// b′ = b + Σⱼ ((μ′ⱼ − μⱼ) / σⱼ) Wⱼ.
    public static func rewrite(_ parameters: [Double], classes: Int, from old: FeatureStandardizer,
                        to new: FeatureStandardizer) -> [Double] {
        let d = old.dimension, k = classes
        precondition(new.dimension == d && parameters.count == (d + 1) * k, "θ must be [(D+1)K]")
        var result = parameters
        for j in 0..<d {
            let ratio = new.scale[j] / old.scale[j]
            let shift = (new.mean[j] - old.mean[j]) / old.scale[j]
            for c in 0..<k {
                result[j * k + c] = ratio * parameters[j * k + c]
                result[d * k + c] += shift * parameters[j * k + c]
            }
        }
        return result
    }

    static func makeStandardizer(_ rows: [Float], dimension: Int, configuration: Configuration) -> FeatureStandardizer {
        configuration.standardize ? FeatureStandardizer(fitting: rows, dimension: dimension)
            : .identity(dimension: dimension)
    }

    static func fitFixed(standardized: [Double], labels: [Int32], standardizer: FeatureStandardizer, classes: Int,
                         inverseStrength: Double, configuration: Configuration,
                         start: [Double]?) throws -> (Model, LimitedMemoryBFGS.Outcome) {
        let d = standardizer.dimension
        var loss = MultinomialLogisticLoss(features: standardized, labels: labels, dimension: d, classes: classes,
                                           inverseStrength: inverseStrength)
        let optimizer = LimitedMemoryBFGS(historySize: configuration.historySize,
                                          maxIterations: configuration.maxIterations,
                                          gradientTolerance: configuration.gradientTolerance)
        let initial = start ?? [Double](repeating: 0, count: loss.parameterCount)
        let preconditioner = configuration.preconditioned && d <= configuration.preconditionerMaxDimension
            ? ClassBlockPreconditioner(loss: loss, at: initial) : nil
        let outcome = try optimizer.minimize(start: initial, preconditioner: preconditioner.map { p in { p.apply(&$0) } }) {
            loss.valueAndGradient($0, gradient: &$1)
        }
        guard outcome.value.isFinite else {
            throw EvaluationError.nonFinite("linear probe objective at C = \(inverseStrength)")
        }
        let model = Model(standardizer: standardizer, weights: Array(outcome.solution[0..<(d * classes)]),
                          bias: Array(outcome.solution[(d * classes)...]), classes: classes,
                          inverseStrength: inverseStrength)
        return (model, outcome)
    }
}
