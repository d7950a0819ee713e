import Foundation

/// The always-valid McNemar test on the discordant pairs: an e-value for "the learner is no better
/// than legacy" (among pairs where exactly one model is right, each is the learner's with
/// probability ≤ ½).
///
/// E = 2^{b+c} · b! · c! / (b + c + 1)!, the likelihood ratio of a uniform (Beta(1,1)) mixture over
/// the learner's share of the discordant pairs against ½. Under the null, E is a nonnegative
/// martingale in the discordant pairs (a supermartingale when the share is below ½), so
/// P(E ever ≥ 1/alpha) ≤ alpha, however often it is looked at. The test is symmetric: swap b and c
/// for "the learner is no worse". Computed in log space (lgamma), exact for any counts.
public enum McNemarEValue {
    /// ln E for b learner-only-right and c legacy-only-right pairs.
    public static func logEValue(learnerOnly b: Double, legacyOnly c: Double) -> Double {
        (b + c) * log(2) + lgamma(b + 1) + lgamma(c + 1) - lgamma(b + c + 2)
    }

    /// E itself (may be +infinity for huge counts; compare in log space then).
    public static func eValue(learnerOnly b: Double, legacyOnly c: Double) -> Double {
        exp(logEValue(learnerOnly: b, legacyOnly: c))
    }

    /// Whether the learner is better with confidence 1 − alpha: E ≥ 1/alpha and b > c.
    public static func learnerBetter(learnerOnly b: Double, legacyOnly c: Double, alpha: Double) -> Bool {
        b > c && logEValue(learnerOnly: b, legacyOnly: c) >= log(1 / alpha)
    }
}
