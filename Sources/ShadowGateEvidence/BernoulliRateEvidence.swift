/// Events among trials — the learner's errors or timeouts among its calls, or its right answers
/// among labelled requests — and a confidence sequence for their rate.
///
/// Guarantee: with probability ≥ 1 − alpha, `upperBound(alpha:)` is never below the true rate (the
/// running average of the conditional rates), at any look; likewise `lowerBound(alpha:)` never
/// above it. It is ``ConstantBetConfidenceSequence`` on 0/1 outcomes; with no event in n trials its
/// upper bound falls like ≈ ln(10/alpha)/n.
public struct BernoulliRateEvidence: Sendable, Hashable, Codable {
    public var trials: Double
    public var events: Double

    public init(trials: Double = 0, events: Double = 0) {
        precondition(events >= 0 && events <= trials, "events must be between 0 and trials")
        self.trials = trials
        self.events = events
    }

    public static func + (a: Self, b: Self) -> Self { Self(trials: a.trials + b.trials, events: a.events + b.events) }

    public var rate: Double? { trials > 0 ? events / trials : nil }

    public var confidenceSequence: ConstantBetConfidenceSequence {
        ConstantBetConfidenceSequence(lowerLimit: 0, upperLimit: 1, outcomes: [(1, events), (0, trials - events)])
    }

    public func lowerBound(alpha: Double) -> Double { confidenceSequence.lowerBound(alpha: alpha) }
    public func upperBound(alpha: Double) -> Double { confidenceSequence.upperBound(alpha: alpha) }
}

/// Paired events of both models on the same requests, for a threshold relative to legacy
/// ("learner error rate ≤ f × legacy's").
///
/// The per-request outcome Y = [learner event] − f·[legacy event] ∈ [−f, 1] has mean
/// p_learner − f·p_legacy; the gate passes when the upper bound of that mean is ≤ 0 and fails when
/// the lower bound is > 0, with the guarantee of ``ConstantBetConfidenceSequence``. Pairing
/// spends no power on the requests both models got wrong alike.
public struct PairedRateEvidence: Sendable, Hashable, Codable {
    public var trials: Double
    /// Requests where only the learner had the event, only legacy, and both.
    public var learnerOnly: Double
    public var legacyOnly: Double
    public var both: Double

    public init(trials: Double = 0, learnerOnly: Double = 0, legacyOnly: Double = 0, both: Double = 0) {
        precondition(learnerOnly + legacyOnly + both <= trials, "event counts must not exceed trials")
        self.trials = trials
        self.learnerOnly = learnerOnly
        self.legacyOnly = legacyOnly
        self.both = both
    }

    public static func + (a: Self, b: Self) -> Self {
        Self(trials: a.trials + b.trials, learnerOnly: a.learnerOnly + b.learnerOnly,
             legacyOnly: a.legacyOnly + b.legacyOnly, both: a.both + b.both)
    }

    /// The learner's rate alone.
    public var learner: BernoulliRateEvidence { BernoulliRateEvidence(trials: trials, events: learnerOnly + both) }
    /// Legacy's rate alone.
    public var legacy: BernoulliRateEvidence { BernoulliRateEvidence(trials: trials, events: legacyOnly + both) }

    /// The confidence sequence of p_learner − factor·p_legacy.
    public func difference(factor: Double) -> ConstantBetConfidenceSequence {
        ConstantBetConfidenceSequence(lowerLimit: -max(factor, 1e-9), upperLimit: 1, outcomes: [
            (1, learnerOnly), (-factor, legacyOnly), (1 - factor, both), (0, trials - learnerOnly - legacyOnly - both),
        ])
    }
}
