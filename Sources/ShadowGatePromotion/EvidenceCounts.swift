import ShadowGateEvidence

/// Counts of what both models did on the same requests, over some stretch of time: what one
/// evaluation reads from PostgreSQL (`shadowgate.evidence_counts()`) and, summed, the evidence a
/// route's gates are judged on.
///
/// Only requests both models answered (neither side `skipped`) count. "Right" follows compare():
/// the model's outcome is `ok` and its label (or score side) matches the ground truth; a model that
/// failed is not right. Counts add up in any order, so batches can be summed.
public struct EvidenceCounts: Sendable, Hashable, Codable {
    /// Requests both models were called for.
    public var pairs: Double = 0
    public var learnerErrors: Double = 0
    public var legacyErrors: Double = 0
    public var bothErrors: Double = 0
    public var learnerTimeouts: Double = 0
    public var legacyTimeouts: Double = 0
    public var bothTimeouts: Double = 0
    /// Of those, the requests with a label (and old enough for it, see `label_delay`).
    public var labelled: Double = 0
    public var learnerOnlyRight: Double = 0
    public var legacyOnlyRight: Double = 0
    public var bothRight: Double = 0
    /// Regression routes: the paired differences of clipped errors, learner minus legacy, absolute
    /// (p = 1) and squared (p = 2), of the labelled requests with numeric labels
    /// (`shadowgate.regression_evidence()`); `nil` on other routes.
    public var absoluteErrorDifference: QuantizedDifferenceEvidence?
    public var squaredErrorDifference: QuantizedDifferenceEvidence?

    public init() {}

    public init(pairs: Double, learnerErrors: Double = 0, legacyErrors: Double = 0, bothErrors: Double = 0,
                learnerTimeouts: Double = 0, legacyTimeouts: Double = 0, bothTimeouts: Double = 0,
                labelled: Double = 0, learnerOnlyRight: Double = 0, legacyOnlyRight: Double = 0, bothRight: Double = 0) {
        self.pairs = pairs
        self.learnerErrors = learnerErrors
        self.legacyErrors = legacyErrors
        self.bothErrors = bothErrors
        self.learnerTimeouts = learnerTimeouts
        self.legacyTimeouts = legacyTimeouts
        self.bothTimeouts = bothTimeouts
        self.labelled = labelled
        self.learnerOnlyRight = learnerOnlyRight
        self.legacyOnlyRight = legacyOnlyRight
        self.bothRight = bothRight
    }

    public static func + (a: Self, b: Self) -> Self {
        Self(pairs: a.pairs + b.pairs, learnerErrors: a.learnerErrors + b.learnerErrors, legacyErrors: a.legacyErrors + b.legacyErrors,
             bothErrors: a.bothErrors + b.bothErrors, learnerTimeouts: a.learnerTimeouts + b.learnerTimeouts,
             legacyTimeouts: a.legacyTimeouts + b.legacyTimeouts, bothTimeouts: a.bothTimeouts + b.bothTimeouts,
             labelled: a.labelled + b.labelled, learnerOnlyRight: a.learnerOnlyRight + b.learnerOnlyRight,
             legacyOnlyRight: a.legacyOnlyRight + b.legacyOnlyRight, bothRight: a.bothRight + b.bothRight)
            .with(absolute: Self.sum(a.absoluteErrorDifference, b.absoluteErrorDifference),
                  squared: Self.sum(a.squaredErrorDifference, b.squaredErrorDifference))
    }

    private func with(absolute: QuantizedDifferenceEvidence?, squared: QuantizedDifferenceEvidence?) -> Self {
        var copy = self
        copy.absoluteErrorDifference = absolute
        copy.squaredErrorDifference = squared
        return copy
    }

    /// Evidence of different clips does not add up: the newer (`b`) wins (a policy change restarts the evidence anyway).
    private static func sum(_ a: QuantizedDifferenceEvidence?, _ b: QuantizedDifferenceEvidence?) -> QuantizedDifferenceEvidence? {
        switch (a, b) {
        case let (a?, b?): a.limit == b.limit ? a + b : b
        case let (a?, nil): a
        case let (nil, b?): b
        case (nil, nil): nil
        }
    }

    /// The regression evidence of a gate's power (1: absolute, 2: squared).
    public func errorDifference(power: Int) -> QuantizedDifferenceEvidence? {
        power == 1 ? absoluteErrorDifference : squaredErrorDifference
    }

    /// The paired accuracy difference's sufficient statistics (n, b, c).
    public var accuracy: PairedAccuracyEvidence {
        PairedAccuracyEvidence(pairs: labelled, learnerOnly: learnerOnlyRight, legacyOnly: legacyOnlyRight)
    }

    /// Right answers of each model on the labelled requests.
    public var correct: PairedRateEvidence {
        PairedRateEvidence(trials: labelled, learnerOnly: learnerOnlyRight, legacyOnly: legacyOnlyRight, both: bothRight)
    }

    public var errors: PairedRateEvidence {
        PairedRateEvidence(trials: pairs, learnerOnly: learnerErrors - bothErrors, legacyOnly: legacyErrors - bothErrors, both: bothErrors)
    }

    public var timeouts: PairedRateEvidence {
        PairedRateEvidence(trials: pairs, learnerOnly: learnerTimeouts - bothTimeouts, legacyOnly: legacyTimeouts - bothTimeouts, both: bothTimeouts)
    }
}
