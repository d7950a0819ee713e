import Foundation
import ShadowGateConfig
import ShadowGateEvidence
import ShadowGatePromotion
import ShadowGateRouting

/// A reproducible stream of paired outcomes: per request, whether each model is right and whether
/// the learner errs, drawn from fixed rates. One batch is what one evaluation period brings.
struct SimulatedPairStream {
    /// P(only the learner right), P(only legacy right), P(legacy right), P(learner error).
    struct Rates {
        var learnerOnly: Double
        var legacyOnly: Double
        var legacyAccuracy: Double
        var learnerErrorRate: Double
        /// A regression route's errors (nil: classification only).
        var errors: RegressionErrors? = nil

        /// Legacy accuracy `legacy`, learner `legacy + delta`, the models disagreeing on `discordance` of the requests.
        static func paired(legacy: Double, delta: Double, discordance: Double, errors: Double = 0.001) -> Rates {
            Rates(learnerOnly: (discordance + delta) / 2, legacyOnly: (discordance - delta) / 2, legacyAccuracy: legacy, learnerErrorRate: errors)
        }

        /// A learner that is always wrong: every request legacy gets right is legacy-only.
        static func collapsed(legacy: Double) -> Rates {
            Rates(learnerOnly: 0, legacyOnly: legacy, legacyAccuracy: legacy, learnerErrorRate: 0.001)
        }
    }

    /// A regression route's prediction errors: e = shared + own, normal, where `shared` is the noise
    /// of the label both models see (it cancels in the paired difference) and `own` each model's;
    /// the learner's own error may have a bias. Differences of errors clipped at `clip`.
    struct RegressionErrors {
        var shared = 0.8
        var legacyOwn = 0.6
        var learnerOwn: Double
        var learnerBias = 0.0
        var clip: Double
    }

    var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// `requests` requests, all labelled, as counts.
    mutating func batch(requests: Int, rates: Rates) -> EvidenceCounts {
        var counts = EvidenceCounts(pairs: Double(requests), labelled: Double(requests))
        let bothRight = rates.legacyAccuracy - rates.legacyOnly
        for _ in 0..<requests {
            let u = generator.unit()
            if u < rates.learnerOnly { counts.learnerOnlyRight += 1 }
            else if u < rates.learnerOnly + rates.legacyOnly { counts.legacyOnlyRight += 1 }
            else if u < rates.learnerOnly + rates.legacyOnly + bothRight { counts.bothRight += 1 }
            if generator.unit() < rates.learnerErrorRate { counts.learnerErrors += 1 }
            if let e = rates.errors {
                let shared = e.shared * generator.normal()
                let legacy = min(abs(shared + e.legacyOwn * generator.normal()), e.clip)
                let learner = min(abs(shared + e.learnerBias + e.learnerOwn * generator.normal()), e.clip)
                if counts.absoluteErrorDifference == nil {
                    counts.absoluteErrorDifference = QuantizedDifferenceEvidence(limit: e.clip)
                    counts.squaredErrorDifference = QuantizedDifferenceEvidence(limit: e.clip * e.clip)
                }
                counts.absoluteErrorDifference?.add(learner - legacy)
                counts.squaredErrorDifference?.add(learner * learner - legacy * legacy)
            }
        }
        return counts
    }
}

/// SplitMix64: small, fast and reproducible across platforms.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x2545_F491_4F6C_DD1D &+ 1 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
    /// A standard normal draw (Box–Muller, one of the pair).
    mutating func normal() -> Double {
        let u = max(unit(), 1e-300), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
