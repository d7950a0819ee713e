import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting

/// The rule the controller used before evidence gates, kept for the benchmark only: compare()'s
/// point values over the sliding `window`, re-checked every evaluation, with `min_pairs` /
/// `min_labels` as hard floors both ways, and `dwell` of uninterrupted passing per step. It is
/// the unchanged ``PromotionEvaluation/init(policy:metrics:)`` and ``PromotionDecider``, fed the
/// window's metrics as compare_window() would compute them from the same simulated requests.
struct LegacyPointEstimateRule {
    let policy: PromotionPolicy
    private var window: [(time: Double, counts: EvidenceCounts)] = []
    private var memory = RolloutMemory()

    init(policy: PromotionPolicy) { self.policy = policy }

    /// One evaluation at `now` with the requests of the last period; returns the new flags, if any.
    mutating func evaluate(batch: EvidenceCounts, flags: FlagsSnapshot, now: Double, latency: (legacy: Double, learner: Double)) -> RouteFlags? {
        window.append((now, batch))
        window.removeAll { $0.time <= now - policy.window.seconds }
        let total = window.reduce(EvidenceCounts()) { $0 + $1.counts }
        let legacyAccuracy = (total.legacyOnlyRight + total.bothRight) / max(total.labelled, 1)
        let learnerAccuracy = (total.learnerOnlyRight + total.bothRight) / max(total.labelled, 1)
        let metrics: [String: Double?] = [
            "pairs": total.pairs, "labelled_pairs": total.labelled,
            "legacy_accuracy": legacyAccuracy, "learner_accuracy": learnerAccuracy, "accuracy_delta": learnerAccuracy - legacyAccuracy,
            "learner_error_rate": total.learnerErrors / max(total.pairs, 1), "legacy_error_rate": 0,
            "learner_timeout_rate": 0, "legacy_timeout_rate": 0,
            "legacy_p99_ms": latency.legacy, "learner_p99_ms": latency.learner,
            "mae_delta": total.absoluteErrorDifference?.mean, "mse_delta": total.squaredErrorDifference?.mean,
        ]
        let evaluation = PromotionEvaluation(policy: policy, metrics: metrics)
        let decision = PromotionDecider.decide(policy: policy, current: flags, evaluation: evaluation, memory: memory, now: now)
        memory = decision.memory
        return decision.target
    }
}
