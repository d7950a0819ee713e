import Foundation

/// A confidence sequence for the mean of a bounded outcome that takes a few values, from their counts.
///
/// Guarantee: for outcomes X₁, X₂, … in [`lowerLimit`, `upperLimit`] whose conditional means given
/// the past are all μ (or, for the one-sided statements, all ≤ μ resp. ≥ μ), the probability that
/// `lowerBound(alpha:)` ever exceeds μ — at any of infinitely many looks, with any stopping rule —
/// is at most alpha; the same holds for `upperBound(alpha:)` falling below μ. Reporting both gives a
/// (1 − 2·alpha) confidence sequence.
///
/// Why this construction: the capital process of a bettor who stakes a constant fraction θ of
/// their wealth on X − m, K(m) = Π (1 + λ(Xᵢ − m)) with λ = θ/(m − lowerLimit), is a nonnegative
/// martingale under mean m (Waudby-Smith & Ramdas 2023, "Estimating means of bounded random
/// variables by betting"); an average over a fixed grid of θ is one too, so Ville's inequality
/// bounds P(sup K ≥ 1/alpha) ≤ alpha. Constant bets make K depend on the counts only, not on the
/// order of the outcomes — exactly what an evaluation that reads counts from SQL in batches has —
/// and K adapts to the variance (a stream of mostly-zero paired differences is judged on its small
/// variance, not on the range), where a Hoeffding or sub-Gaussian-with-range bound is 3–5× wider.
/// The grid of `ConstantBetConfidenceSequence.fractions` (0.95 · 2⁻ʲ, j = 0…9) costs ln 10 in the
/// threshold and covers the best bet to within a factor √2 from effects of ~0.5 % to ~100 %.
/// `K(m)` is monotone in `m`, so each bound is found by bisection to 1e-12.
public struct ConstantBetConfidenceSequence: Sendable, Hashable {
    /// The bet fractions θⱼ, equally weighted.
    public static let fractions: [Double] = (0..<10).map { 0.95 * pow(0.5, Double($0)) }

    public let lowerLimit: Double
    public let upperLimit: Double
    /// The distinct values the outcome takes, and how often each was seen.
    public private(set) var outcomes: [(value: Double, count: Double)]

    public init(lowerLimit: Double, upperLimit: Double, outcomes: [(value: Double, count: Double)]) {
        precondition(lowerLimit < upperLimit, "a bounded outcome needs lowerLimit < upperLimit")
        self.lowerLimit = lowerLimit
        self.upperLimit = upperLimit
        self.outcomes = outcomes.filter { $0.count > 0 }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.lowerLimit == b.lowerLimit && a.upperLimit == b.upperLimit
            && a.outcomes.map(\.value) == b.outcomes.map(\.value) && a.outcomes.map(\.count) == b.outcomes.map(\.count)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(lowerLimit)
        hasher.combine(upperLimit)
        for outcome in outcomes { hasher.combine(outcome.value); hasher.combine(outcome.count) }
    }

    public var count: Double { outcomes.reduce(0) { $0 + $1.count } }

    /// The sample mean; `nil` without outcomes.
    public var mean: Double? {
        let n = count
        return n > 0 ? outcomes.reduce(0) { $0 + $1.value * $1.count } / n : nil
    }

    /// ln K⁺(m): the log-wealth of the bets that the mean exceeds m (evidence against "mean ≤ m").
    public func logWealthAbove(_ m: Double) -> Double {
        guard m > lowerLimit else { return .infinity }
        let scale = m - lowerLimit
        return Self.logMeanExp(Self.fractions.map { theta in
            outcomes.reduce(0.0) { sum, o in sum + o.count * log1p(theta * (o.value - m) / scale) }
        })
    }

    /// ln K⁻(m): the log-wealth of the bets that the mean is below m (evidence against "mean ≥ m").
    public func logWealthBelow(_ m: Double) -> Double {
        guard m < upperLimit else { return .infinity }
        let scale = upperLimit - m
        return Self.logMeanExp(Self.fractions.map { theta in
            outcomes.reduce(0.0) { sum, o in sum + o.count * log1p(theta * (m - o.value) / scale) }
        })
    }

    /// The smallest m that "mean ≤ m" is not rejected for at level alpha: the mean is above it with
    /// confidence 1 − alpha, uniformly over time. `lowerLimit` without evidence.
    public func lowerBound(alpha: Double, tolerance: Double = 1e-12) -> Double {
        let threshold = log(1 / alpha)
        // logWealthAbove is non-increasing in m and ≤ 0 at upperLimit.
        var low = lowerLimit, high = upperLimit
        if logWealthAbove(lowerLimit + (upperLimit - lowerLimit) * 1e-15) < threshold { return lowerLimit }
        for _ in 0..<200 where high - low > tolerance {
            let mid = (low + high) / 2
            if logWealthAbove(mid) >= threshold { low = mid } else { high = mid }
        }
        return high
    }

    /// The largest m that "mean ≥ m" is not rejected for at level alpha. `upperLimit` without evidence.
    public func upperBound(alpha: Double, tolerance: Double = 1e-12) -> Double {
        let threshold = log(1 / alpha)
        var low = lowerLimit, high = upperLimit
        if logWealthBelow(upperLimit - (upperLimit - lowerLimit) * 1e-15) < threshold { return upperLimit }
        for _ in 0..<200 where high - low > tolerance {
            let mid = (low + high) / 2
            if logWealthBelow(mid) >= threshold { high = mid } else { low = mid }
        }
        return low
    }

    static func logMeanExp(_ values: [Double]) -> Double {
        guard let top = values.max(), top.isFinite else { return values.max() ?? -.infinity }
        return top + log(values.reduce(0) { $0 + exp($1 - top) } / Double(values.count))
    }
}
