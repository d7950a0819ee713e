import ShadowGateControl
import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting

/// One simulated route: a stream of paired requests, and the rule deciding on it.
enum RuleUnderTest {
    case old(PromotionPolicy)
    case new(PromotionPolicy)

    var policy: PromotionPolicy {
        switch self {
        case .old(let policy), .new(let policy): policy
        }
    }
}

/// What happened in one run.
struct RunResult {
    /// Seconds from the start until the route reached `promoted` (nil: never within the horizon).
    var promotedAfter: Double?
    /// Seconds from the collapse until the route was back in `shadow` (nil: never).
    var rolledBackAfter: Double?
    /// The route was rolled back while the learner was still good (before the collapse).
    var falseRollback = false
}

/// Runs one rule on one stream: `requestsPerSecond` labelled requests drawn second by second,
/// evaluations every `evaluate_every`; the old rule sees every label at once (as compare() did),
/// the new rule counts a request toward accuracy once it is `label_delay` old (as evidence_counts() does).
struct GatesBenchRun {
    var requestsPerSecond: Double
    var horizon: Double
    var before: SimulatedPairStream.Rates
    /// After `collapseAt` seconds, the stream switches to `after` (the route starts promoted then).
    var collapseAt: Double?
    var after: SimulatedPairStream.Rates?
    var startPromoted = false

    func run(_ rule: RuleUnderTest, seed: UInt64) -> RunResult {
        let policy = rule.policy
        var stream = SimulatedPairStream(seed: seed)
        let period = Int(policy.evaluateEvery.seconds.rounded())
        let delay = Int(policy.labelDelay.seconds.rounded())
        let perSecond = Int(requestsPerSecond.rounded())
        var flags = FlagsSnapshot(flags: startPromoted ? RouteFlags(mode: .promoted, canaryPercent: 100, shadowPercent: 100)
                                                       : RouteFlags(mode: .shadow, canaryPercent: 0, shadowPercent: 100),
                                  revision: 1, changedAt: 0, changedByController: false)
        var old = LegacyPointEstimateRule(policy: policy)
        var machine = PromotionController.StateMachine(policy: policy)
        // seconds[i]: the requests received in second (i, i+1], labelled at once; the new rule counts
        // them toward accuracy once they are label_delay old, as evidence_counts() does.
        var seconds: [EvidenceCounts] = []
        var labelledUpTo = 0
        var result = RunResult()
        var now = 0
        while Double(now) < horizon {
            for _ in 0..<period {
                let t = Double(seconds.count)
                let collapsed = collapseAt.map { t >= $0 } ?? false
                seconds.append(stream.batch(requests: perSecond, rates: collapsed ? (after ?? before) : before))
            }
            now += period
            let batch = seconds[(now - period)..<now].reduce(EvidenceCounts()) { $0 + $1 }
            var target: RouteFlags?
            switch rule {
            case .old:
                target = old.evaluate(batch: batch, flags: flags, now: Double(now), latency: (40, 45))
            case .new:
                let labelledTo = max(labelledUpTo, now - delay)
                let labelled = seconds[labelledUpTo..<labelledTo].reduce(EvidenceCounts()) { $0 + $1 }
                labelledUpTo = labelledTo
                var counts = batch
                counts.labelled = labelled.labelled
                counts.learnerOnlyRight = labelled.learnerOnlyRight
                counts.legacyOnlyRight = labelled.legacyOnlyRight
                counts.bothRight = labelled.bothRight
                counts.absoluteErrorDifference = labelled.absoluteErrorDifference
                counts.squaredErrorDifference = labelled.squaredErrorDifference
                let window: [String: Double?] = ["pairs": policy.window.seconds * requestsPerSecond, "legacy_p99_ms": 40, "learner_p99_ms": 45]
                let (_, actions) = machine.evaluate(.init(flags: flags, counts: counts, labelledUntil: Double(labelledTo),
                                                          pairsUntil: Double(now), windowMetrics: window, learnerVersion: "sim", now: Double(now)))
                for case .setFlags(let to, _) in actions { target = to }
            }
            if let target {
                flags = FlagsSnapshot(flags: target, revision: flags.revision + 1, changedAt: Double(now), changedByController: true)
                if target.mode == .promoted, result.promotedAfter == nil, !startPromoted { result.promotedAfter = Double(now); return result }
                if target.mode == .shadow, let collapseAt, Double(now) > collapseAt { result.rolledBackAfter = Double(now) - collapseAt; return result }
                if target.mode == .shadow, startPromoted { result.falseRollback = true; return result }
            }
        }
        return result
    }
}
