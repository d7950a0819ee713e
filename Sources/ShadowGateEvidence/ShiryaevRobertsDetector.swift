import Foundation

/// A Shiryaev–Roberts change detector on a stream of Bernoulli events, updated in batches, for
/// rolling back a learner that turns bad after it was promoted.
///
/// Before a change the events occur with probability ≤ `nullRate`; after it, with some higher
/// rate. For each alternative q in `alternatives` the statistic is R_k = (1 + R_{k−1}) · LR_k, with
/// LR_k = (q/p₀)^events · ((1−q)/(1−p₀))^(trials−events) the likelihood ratio of batch k; the
/// detector alarms when the average of the R's reaches 1/alpha.
///
/// Guarantee (false alarms): while the rate stays ≤ `nullRate`, each R_k − k is a supermartingale
/// (LR has mean ≤ 1), so the expected number of batches before a false alarm is ≥ 1/alpha
/// (Pollak 1987; an average of such detectors keeps the bound). Batches without trials do not
/// count as steps (they are skipped, so idle time raises no alarm). Speed: after a change to q,
/// ln R grows by about the Kullback–Leibler divergence per event, so the delay is ~ ln(1/alpha)/KL.
/// The state is a small `Codable` value the controller persists between evaluations.
public struct ShiryaevRobertsDetector: Sendable, Hashable, Codable {
    public let nullRate: Double
    public let alternatives: [Double]
    public let alpha: Double
    /// ln R per alternative; at the start R = 0, stored as the most negative finite number so the
    /// state stays plain JSON.
    public private(set) var logStatistics: [Double]
    /// Non-empty batches seen since the start.
    public private(set) var batches: Int

    public init(nullRate: Double, alternatives: [Double], alpha: Double) {
        precondition(nullRate > 0 && nullRate < 1, "the null rate must be in (0, 1)")
        precondition(alternatives.allSatisfy { $0 > nullRate && $0 < 1 }, "alternatives must lie above the null rate")
        self.nullRate = nullRate
        self.alternatives = alternatives
        self.alpha = alpha
        self.logStatistics = alternatives.map { _ in Self.logZero }
        self.batches = 0
    }

    public static let logZero = -Double.greatestFiniteMagnitude

    /// The detector on discordant labelled pairs: an event is a pair only legacy got right; before
    /// a change the learner is at least as good (share ≤ ½), after it legacy wins 60, 75 or 90 % of
    /// the disagreements.
    public static func pairedAccuracy(alpha: Double) -> Self {
        Self(nullRate: 0.5, alternatives: [0.6, 0.75, 0.9], alpha: alpha)
    }

    /// The detector on the learner's error (or timeout) rate against a gate's maximum.
    public static func rate(maximum: Double, alpha: Double) -> Self {
        let p0 = min(max(maximum, 1e-6), 0.5)
        let alternatives = [2 * p0, 5 * p0, 20 * p0, 0.5].map { min($0, 0.95) }.filter { $0 > p0 }
        return Self(nullRate: p0, alternatives: Array(Set(alternatives)).sorted(), alpha: alpha)
    }

    /// ln of the averaged statistic; hugely negative before any evidence.
    public var logStatistic: Double { ConstantBetConfidenceSequence.logMeanExp(logStatistics) }

    /// Whether the detector has alarmed: the averaged statistic ≥ 1/alpha.
    public var alarmed: Bool { logStatistic >= log(1 / alpha) }

    /// Takes one batch: `events` of `trials`. A batch without trials changes nothing.
    public mutating func update(events: Double, trials: Double) {
        guard trials > 0 else { return }
        batches += 1
        for (index, q) in alternatives.enumerated() {
            let logLR = events * log(q / nullRate) + (trials - events) * log((1 - q) / (1 - nullRate))
            let previous = logStatistics[index]
            // ln(1 + R) without overflow
            let logOnePlus = previous > 0 ? previous + log1p(exp(-previous)) : log1p(exp(previous))
            logStatistics[index] = logOnePlus + logLR
        }
    }

    /// Back to the start (after a rollback, a person's change or a restart of the evidence).
    public mutating func reset() {
        logStatistics = alternatives.map { _ in Self.logZero }
        batches = 0
    }
}
