/// What the labelled pairs say about the learner's accuracy minus legacy's, as sufficient statistics.
///
/// Per labelled pair, D = [learner right] − [legacy right] ∈ {−1, 0, +1}; `learnerOnly` (b) pairs
/// have D = +1, `legacyOnly` (c) pairs D = −1, the rest D = 0. Δ = E[D] is the accuracy difference
/// on the same requests; the pairing removes what the two models share, so with 10 % discordance
/// D's standard deviation is ≈ 0.32 instead of the unpaired ≈ 0.57.
///
/// Guarantee: `lowerBound(alpha:)` stays below the true Δ (more exactly, below the running average
/// of the conditional Δs, which is Δ when the models do not change) at all times with probability
/// ≥ 1 − alpha; likewise `upperBound(alpha:)` above it (see ``ConstantBetConfidenceSequence``).
/// Counts are additive: evidence from several evaluations is their sum, in any order.
public struct PairedAccuracyEvidence: Sendable, Hashable, Codable {
    /// Labelled pairs where both models answered (n).
    public var pairs: Double
    /// Pairs only the learner got right (b).
    public var learnerOnly: Double
    /// Pairs only legacy got right (c).
    public var legacyOnly: Double

    public init(pairs: Double = 0, learnerOnly: Double = 0, legacyOnly: Double = 0) {
        precondition(learnerOnly >= 0 && legacyOnly >= 0 && learnerOnly + legacyOnly <= pairs, "b + c must not exceed n")
        self.pairs = pairs
        self.learnerOnly = learnerOnly
        self.legacyOnly = legacyOnly
    }

    public static func + (a: Self, b: Self) -> Self {
        Self(pairs: a.pairs + b.pairs, learnerOnly: a.learnerOnly + b.learnerOnly, legacyOnly: a.legacyOnly + b.legacyOnly)
    }

    /// Δ̂ = (b − c)/n; `nil` without pairs.
    public var meanDifference: Double? { pairs > 0 ? (learnerOnly - legacyOnly) / pairs : nil }

    /// σ̂²_D = (b + c)/n − Δ̂²; `nil` without pairs.
    public var varianceOfDifference: Double? {
        meanDifference.map { (learnerOnly + legacyOnly) / pairs - $0 * $0 }
    }

    public var confidenceSequence: ConstantBetConfidenceSequence {
        ConstantBetConfidenceSequence(lowerLimit: -1, upperLimit: 1, outcomes: [
            (1, learnerOnly), (-1, legacyOnly), (0, pairs - learnerOnly - legacyOnly),
        ])
    }

    public func lowerBound(alpha: Double) -> Double { confidenceSequence.lowerBound(alpha: alpha) }
    public func upperBound(alpha: Double) -> Double { confidenceSequence.upperBound(alpha: alpha) }

    /// The always-valid McNemar e-value for "the learner is better" (sign only).
    public var mcNemarLogEValue: Double { McNemarEValue.logEValue(learnerOnly: learnerOnly, legacyOnly: legacyOnly) }
}
