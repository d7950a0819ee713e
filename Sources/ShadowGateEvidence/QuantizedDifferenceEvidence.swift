import Foundation

/// A confidence sequence for the mean of a bounded, continuous paired difference — a regression
/// route's clipped error of the learner minus legacy's, d = min(|e_learner|, clip)^p −
/// min(|e_legacy|, clip)^p ∈ [−C, C] with C = clip^p — from counts that add up across batches.
///
/// Why quantized: the betting confidence sequence (``ConstantBetConfidenceSequence``) needs, for
/// every candidate mean m, Σ ln(1 + λ(dᵢ − m)); a batch read from SQL cannot give that for every m,
/// but it can give how many dᵢ fall in each of a fixed set of buckets. Each bucket is an interval
/// [lo, hi]; replacing every dᵢ by its bucket's `hi` gives values ≥ dᵢ, whose conditional mean is
/// ≥ the true one, so the *upper* bound of their betting CS is still an upper bound of the true
/// mean (the bettor against "mean ≥ m" wins less, never more: a supermartingale, Ville's inequality
/// holds). Likewise the lower bound from every bucket's `lo`. The price is at most a bucket's width
/// in each bound. The buckets are 2·``levels`` + 1 intervals on a square-root grid, fine near 0
/// where paired differences concentrate: for d > 0 bucket b = 1 + ⌊N·√(d/C)⌋ (capped at N) holds
/// [C((b−1)/N)², C(b/N)²]; d < 0 mirrors it with −b; d = 0 (equal errors) is bucket 0, exact. With
/// N = 128 a difference of size v sits in a bucket ≈ 2√(vC)/N wide (C = 5, v = 0.5: 0.025).
///
/// Guarantee: with probability ≥ 1 − alpha, `upperBound(alpha:)` is never below the running
/// average of the conditional means of d (the clipped-error difference), at any look, with any
/// stopping rule; likewise `lowerBound(alpha:)`. About the *clipped* errors: a clip above every
/// error that matters makes this the plain MAE/MSE difference; larger errors count as `clip`.
public struct QuantizedDifferenceEvidence: Sendable, Hashable, Codable {
    /// Buckets per sign (N).
    public static let levels = 128

    /// C: every difference lies in [−C, C].
    public let limit: Double
    /// How many differences fell in each bucket (see the type's comment): bucket b at index b + N,
    /// so adding two evidences is adding two arrays.
    public private(set) var bucketCounts: [Double]
    /// Σd and Σd² of the differences as they were (for the estimate and its spread).
    public private(set) var sum: Double
    public private(set) var sumOfSquares: Double
    /// How many differences (the sum of `bucketCounts`).
    public private(set) var count: Double

    public init(limit: Double) {
        precondition(limit > 0 && limit.isFinite, "the limit must be positive")
        self.limit = limit
        self.bucketCounts = Array(repeating: 0, count: 2 * Self.levels + 1)
        self.sum = 0
        self.sumOfSquares = 0
        self.count = 0
    }

    /// The non-empty buckets and their counts, by bucket number.
    public var counts: [Int: Double] {
        var out: [Int: Double] = [:]
        for (index, n) in bucketCounts.enumerated() where n > 0 { out[index - Self.levels] = n }
        return out
    }

    /// The bucket of a difference (clamped to [−C, C]); SQL's `shadowgate.regression_evidence()` computes the same.
    public static func bucket(of d: Double, limit: Double) -> Int {
        guard d != 0, !d.isNaN else { return 0 }
        let k = 1 + Int((Double(levels) * (min(abs(d), limit) / limit).squareRoot()).rounded(.down))
        return (d > 0 ? 1 : -1) * min(k, levels)
    }

    /// The interval of a bucket, widened by a relative 1e-12 against rounding of the bucket number.
    public static func interval(of bucket: Int, limit: Double) -> (low: Double, high: Double) {
        guard bucket != 0 else { return (0, 0) }
        let k = Double(abs(bucket)), n = Double(levels)
        let inner = limit * ((k - 1) / n) * ((k - 1) / n) * (1 - 1e-12)
        let outer = min(limit, limit * (k / n) * (k / n) * (1 + 1e-12))
        return bucket > 0 ? (inner, outer) : (-outer, -inner)
    }

    /// Adds one difference (the bench and tests; the controller adds SQL's buckets).
    public mutating func add(_ d: Double) {
        let clamped = min(max(d, -limit), limit)
        bucketCounts[Self.bucket(of: clamped, limit: limit) + Self.levels] += 1
        count += 1
        sum += clamped
        sumOfSquares += clamped * clamped
    }

    /// Adds a bucket's count and sums, as SQL returns them.
    public mutating func add(bucket: Int, count: Double, sum: Double, sumOfSquares: Double) {
        guard count > 0 else { return }
        bucketCounts[max(-Self.levels, min(Self.levels, bucket)) + Self.levels] += count
        self.count += count
        self.sum += sum
        self.sumOfSquares += sumOfSquares
    }

    public static func + (a: Self, b: Self) -> Self {
        precondition(a.limit == b.limit, "differences of different limits do not add up")
        var total = a
        for index in total.bucketCounts.indices { total.bucketCounts[index] += b.bucketCounts[index] }
        total.count += b.count
        total.sum += b.sum
        total.sumOfSquares += b.sumOfSquares
        return total
    }

    /// The mean difference; `nil` without any.
    public var mean: Double? { count > 0 ? sum / count : nil }
    /// The standard error of the mean (sample standard deviation, n − 1, over √n); `nil` below 2.
    public var standardError: Double? {
        let n = count
        guard n >= 2 else { return nil }
        return (max(sumOfSquares - sum * sum / n, 0) / (n - 1) / n).squareRoot()
    }

    /// Every difference replaced by its bucket's lower (`high == false`) or upper end.
    public func confidenceSequence(high: Bool) -> ConstantBetConfidenceSequence {
        var outcomes: [(value: Double, count: Double)] = []
        for (index, n) in bucketCounts.enumerated() where n > 0 {
            let interval = Self.interval(of: index - Self.levels, limit: limit)
            outcomes.append((high ? interval.high : interval.low, n))
        }
        return ConstantBetConfidenceSequence(lowerLimit: -limit, upperLimit: limit, outcomes: outcomes)
    }

    /// The smallest m that "mean ≤ m" is not rejected for (the CS of the buckets' lower ends), to
    /// 1e-7 of the range — far below a bucket's width. Found by the Illinois variant of regula
    /// falsi on the bracket (≈ 8 wealth evaluations instead of bisection's ≈ 25: the controller and
    /// the bench evaluate often, on up to 257 buckets), always returning the bracket's
    /// not-rejected end, so the bound is as conservative as bisection's.
    public func lowerBound(alpha: Double) -> Double {
        let cs = confidenceSequence(high: false)
        let threshold = log(1 / alpha)
        // f(m) = ln K⁺(m) − ln(1/alpha): non-increasing, < 0 at the upper limit
        let low = -limit + 2 * limit * 1e-15
        guard let start = cs.mean, cs.logWealthAbove(low) >= threshold else { return -limit }
        // The bound is below the bucket mean (there ln K⁺ ≤ 0 by concavity); a few standard
        // errors below it is usually rejected already, a much narrower bracket than the range.
        let guess = max(low, start - 8 * spread(of: cs))
        let from = guess > low && cs.logWealthAbove(guess) >= threshold ? guess : low
        return Self.root(from: from, to: start, tolerance: 2e-7 * limit, keepHigh: true) { cs.logWealthAbove($0) - threshold }
    }

    /// The largest m that "mean ≥ m" is not rejected for (the CS of the buckets' upper ends).
    public func upperBound(alpha: Double) -> Double {
        let cs = confidenceSequence(high: true)
        let threshold = log(1 / alpha)
        // g(m) = ln K⁻(m) − ln(1/alpha): non-decreasing, < 0 at the lower limit
        let high = limit - 2 * limit * 1e-15
        guard let start = cs.mean, cs.logWealthBelow(high) >= threshold else { return limit }
        let guess = min(high, start + 8 * spread(of: cs))
        let to = guess < high && cs.logWealthBelow(guess) >= threshold ? guess : high
        return Self.root(from: start, to: to, tolerance: 2e-7 * limit, keepHigh: false) { cs.logWealthBelow($0) - threshold }
    }

    /// sd/√n + range/n of the bucket values: where to look for a bound first (only a starting
    /// bracket, checked before use; the result does not depend on it beyond the tolerance).
    private func spread(of cs: ConstantBetConfidenceSequence) -> Double {
        let n = cs.count, mean = cs.mean ?? 0
        let variance = cs.outcomes.reduce(0.0) { $0 + $1.count * ($1.value - mean) * ($1.value - mean) } / max(n, 1)
        return (variance / max(n, 1)).squareRoot() + 2 * limit / max(n, 1)
    }

    /// The sign change of a monotone f on [a, b] (f(a), f(b) of opposite signs or infinite), to
    /// `tolerance`; returns the end where f < 0 (`keepHigh`: the upper end, for a decreasing f).
    /// Infinite values and stalls fall back to bisection steps.
    static func root(from a: Double, to b: Double, tolerance: Double, keepHigh: Bool, _ f: (Double) -> Double) -> Double {
        // Orient so that f(lo) ≥ 0 > f(hi) in terms of "rejected" (≥ 0) and "not rejected" (< 0).
        var rejected = keepHigh ? a : b, accepted = keepHigh ? b : a
        var fr = f(rejected), fa = f(accepted)
        var side = 0
        for _ in 0..<200 where abs(accepted - rejected) > tolerance {
            var m: Double
            if fr.isFinite && fa.isFinite && fr != fa {
                m = rejected - fr * (accepted - rejected) / (fa - fr)
                // keep strictly inside, and not glued to one end
                let lo = min(rejected, accepted), hi = max(rejected, accepted), width = hi - lo
                m = min(max(m, lo + 0.01 * width), hi - 0.01 * width)
            } else {
                m = (rejected + accepted) / 2
            }
            let fm = f(m)
            if fm >= 0 {
                rejected = m; fr = fm
                if side == -1 { fa /= 2 }
                side = -1
            } else {
                accepted = m; fa = fm
                if side == 1 { fr /= 2 }
                side = 1
            }
        }
        return accepted
    }

    /// ln of the e-value Π(1 + λ(dᵢ − threshold)) of one batch against "mean ≤ threshold", with
    /// λ = fraction/(threshold + C) and every dᵢ at its bucket's lower end (so it is an e-value).
    public func logBettingEValue(against threshold: Double, fraction: Double) -> Double {
        let lambda = fraction / (threshold + limit)
        var total = 0.0
        for (index, n) in bucketCounts.enumerated() where n > 0 {
            total += n * log1p(lambda * (Self.interval(of: index - Self.levels, limit: limit).low - threshold))
        }
        return total
    }
}

/// A Shiryaev–Roberts change detector on a bounded paired difference (``QuantizedDifferenceEvidence``),
/// for rolling back a regression learner whose errors grow after it was promoted.
///
/// Each batch's e-value against "the mean difference ≤ `threshold`" is the wealth of constant bets
/// (one per fraction θ in `fractions`, λ = θ/(threshold + C)); R_k = (1 + R_{k−1}) · E_k per bet and
/// the detector alarms when their average reaches 1/alpha. Guarantee (false alarms): while the mean
/// difference stays ≤ `threshold` (the gate's maximum), each R_k − k is a supermartingale, so the
/// expected number of batches before a false alarm is ≥ 1/alpha, as for ``ShiryaevRobertsDetector``.
/// Speed: a learner whose clipped error jumps to the clip wins each bet at a rate of up to
/// ln(1 + θ) per labelled pair: about 17 pairs to alarm at alpha = 1e-4 with θ = 0.9.
public struct DifferenceChangeDetector: Sendable, Hashable, Codable {
    public static let fractions: [Double] = [0.05, 0.2, 0.5, 0.9]

    public let threshold: Double
    public let limit: Double
    public let alpha: Double
    public private(set) var logStatistics: [Double]
    public private(set) var batches: Int

    public init(threshold: Double, limit: Double, alpha: Double) {
        precondition(limit > 0 && threshold > -limit && threshold < limit, "the threshold must lie inside (−limit, limit)")
        self.threshold = threshold
        self.limit = limit
        self.alpha = alpha
        self.logStatistics = Self.fractions.map { _ in ShiryaevRobertsDetector.logZero }
        self.batches = 0
    }

    public var logStatistic: Double { ConstantBetConfidenceSequence.logMeanExp(logStatistics) }
    public var alarmed: Bool { logStatistic >= log(1 / alpha) }

    /// Takes one batch of differences; an empty batch changes nothing.
    public mutating func update(_ batch: QuantizedDifferenceEvidence) {
        guard batch.count > 0 else { return }
        batches += 1
        for (index, theta) in Self.fractions.enumerated() {
            let previous = logStatistics[index]
            let logOnePlus = previous > 0 ? previous + log1p(exp(-previous)) : log1p(exp(previous))
            logStatistics[index] = logOnePlus + batch.logBettingEValue(against: threshold, fraction: theta)
        }
    }
}
