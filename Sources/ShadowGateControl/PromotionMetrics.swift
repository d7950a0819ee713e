import Metrics
import ShadowGatePromotion

/// What operators watch of the promotion controller, as Prometheus metrics.
///
/// - `shadowgate_controller_leader` 1 on the replica holding the controller lock, else 0.
/// - `shadowgate_gate_value{route,gate}` / `shadowgate_gate_threshold{route,gate}`: the metric and
///   its bound in the last evaluation; `shadowgate_gate_passing{route,gate}` 1 pass, 0 fail, -1 inconclusive.
/// - `shadowgate_gate_lower{route,gate}` / `shadowgate_gate_upper{route,gate}`: an evidence gate's
///   confidence bounds at its alpha; `shadowgate_gate_evidence{route,gate}`: the count they rest on.
/// - `shadowgate_evidence_pairs{route}` / `shadowgate_evidence_labelled{route}`: the evidence since its last restart.
/// - `shadowgate_promotion_outcome{route}` 1 pass, 0 fail, -1 inconclusive.
/// - `shadowgate_rollout_decisions_total{route,decision}`: advance, promote, rollback, hold, blocked.
struct PromotionMetrics: Sendable {
    let leader = Gauge(label: "shadowgate_controller_leader")

    func record(route: String, evaluation: PromotionEvaluation, decision: PromotionDecision.Kind, evidence: EvidenceCounts? = nil) {
        for gate in evaluation.gates {
            let dimensions = [("route", route), ("gate", gate.gate)]
            if let lower = gate.lowerBound { Gauge(label: "shadowgate_gate_lower", dimensions: dimensions).record(lower) }
            if let upper = gate.upperBound { Gauge(label: "shadowgate_gate_upper", dimensions: dimensions).record(upper) }
            if let count = gate.evidence { Gauge(label: "shadowgate_gate_evidence", dimensions: dimensions).record(count) }
            if let value = gate.value { Gauge(label: "shadowgate_gate_value", dimensions: dimensions).record(value) }
            if let bound = gate.bound { Gauge(label: "shadowgate_gate_threshold", dimensions: dimensions).record(bound) }
            Gauge(label: "shadowgate_gate_passing", dimensions: dimensions).record(Self.code(gate.outcome))
        }
        if let evidence {
            Gauge(label: "shadowgate_evidence_pairs", dimensions: [("route", route)]).record(evidence.pairs)
            Gauge(label: "shadowgate_evidence_labelled", dimensions: [("route", route)]).record(evidence.labelled)
        }
        Gauge(label: "shadowgate_promotion_outcome", dimensions: [("route", route)]).record(Self.code(evaluation.outcome))
        Counter(label: "shadowgate_rollout_decisions_total", dimensions: [("route", route), ("decision", decision.rawValue)]).increment()
    }

    private static func code(_ outcome: EvaluationOutcome) -> Double {
        switch outcome {
        case .pass: 1
        case .fail: 0
        case .inconclusive: -1
        }
    }
}
