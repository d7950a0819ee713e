import ShadowGateControl
import ShadowGateCore

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

/// Runs one rule on one stream: evaluations every `evaluate_every`, `requestsPerSecond` labelled
/// requests, the new rule's labelled counts lagging by `label_delay` (as the SQL reads them).
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
        let period = policy.evaluateEvery.seconds
        let requests = Int((requestsPerSecond * period).rounded())
        let delaySteps = Int((policy.labelDelay.seconds / period).rounded(.up))
        var flags = FlagsSnapshot(flags: startPromoted ? RouteFlags(mode: .promoted, canaryPercent: 100, shadowPercent: 100)
                                                       : RouteFlags(mode: .shadow, canaryPercent: 0, shadowPercent: 100),
                                  revision: 1, changedAt: 0, changedByController: false)
        var old = LegacyPointEstimateRule(policy: policy)
        var machine = PromotionController.StateMachine(policy: policy)
        var pending: [EvidenceCounts] = []
        var result = RunResult()
        var now = 0.0
        while now < horizon {
            now += period
            let collapsed = collapseAt.map { now > $0 } ?? false
            let batch = stream.batch(requests: requests, rates: collapsed ? (after ?? before) : before)
            var target: RouteFlags?
            switch rule {
            case .old:
                target = old.evaluate(batch: batch, flags: flags, now: now, latency: (40, 45))
            case .new:
                pending.append(batch)
                var counts = batch
                // Labels count only for requests older than label_delay.
                let labelled = pending.count > delaySteps ? pending.removeFirst() : EvidenceCounts()
                counts.labelled = labelled.labelled
                counts.learnerOnlyRight = labelled.learnerOnlyRight
                counts.legacyOnlyRight = labelled.legacyOnlyRight
                counts.bothRight = labelled.bothRight
                let window: [String: Double?] = ["pairs": policy.window.seconds * requestsPerSecond, "legacy_p99_ms": 40, "learner_p99_ms": 45]
                let (_, actions) = machine.evaluate(.init(flags: flags, counts: counts, labelledUntil: now - policy.labelDelay.seconds,
                                                          pairsUntil: now, windowMetrics: window, learnerVersion: "sim", now: now))
                for case .setFlags(let to, _) in actions { target = to }
            }
            if let target {
                flags = FlagsSnapshot(flags: target, revision: flags.revision + 1, changedAt: now, changedByController: true)
                if target.mode == .promoted, result.promotedAfter == nil, !startPromoted { result.promotedAfter = now; return result }
                if target.mode == .shadow, let collapseAt, now > collapseAt { result.rolledBackAfter = now - collapseAt; return result }
                if target.mode == .shadow, startPromoted { result.falseRollback = true; return result }
            }
        }
        return result
    }
}
