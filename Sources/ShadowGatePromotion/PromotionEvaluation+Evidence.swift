import Foundation
import ShadowGateEvidence

extension PromotionEvaluation {
    /// A route's gates checked as confidence statements on the evidence since its last restart.
    ///
    /// Rules:
    /// - An evidence gate (``GateRule/Metric/carriesEvidence``) at alpha_k = `policy.alphaPerGate`:
    ///   `…_min X` passes when the lower bound ≥ X and fails when the upper bound < X; `…_max X`
    ///   passes when the upper bound ≤ X and fails when the lower bound > X; otherwise not yet
    ///   (inconclusive). Its pass additionally waits for the floors (`min_pairs` pairs, and
    ///   `min_labels` labelled pairs for accuracy gates) — a fail never does: overwhelming evidence
    ///   against the learner acts at once, however little of it there is.
    /// - Any other gate compares compare()'s value over `metrics` (the sliding window) with its
    ///   bound, and is inconclusive below `min_pairs` pairs in the window, both ways: a point value
    ///   of a few pairs carries no confidence.
    /// - A failing hard gate fails the evaluation (rollback); then a failing soft gate (hold); then
    ///   any inconclusive gate makes it inconclusive; else it passes.
    public init(policy: PromotionPolicy, metrics: [String: Double?], evidence: EvidenceCounts) {
        let windowPairs = Int((metrics["pairs"] ?? nil) ?? 0)
        let alpha = policy.alphaPerGate
        pairs = Int(evidence.pairs)
        labelledPairs = Int(evidence.labelled)
        var floorsHeld: [String] = []
        gates = policy.gates.map { rule in
            guard rule.metric.carriesEvidence else {
                let value = metrics[rule.metric.column] ?? nil
                let bound = rule.bound(in: metrics)
                var outcome = EvaluationOutcome.inconclusive
                if windowPairs >= policy.minPairs, let value, let bound, value.isFinite {
                    outcome = (rule.metric.isLowerBound ? value >= bound : value <= bound) ? .pass : .fail
                }
                return GateResult(rule: rule, value: value, bound: bound, outcome: outcome)
            }
            let judged = Self.judge(rule, evidence: evidence, alpha: alpha, errorClip: policy.errorClip)
            var result = GateResult(rule: rule, value: judged.estimate, bound: judged.threshold, outcome: judged.outcome,
                                    lowerBound: judged.lower, upperBound: judged.upper, evidence: judged.count, alpha: alpha)
            if result.outcome == .pass {
                if evidence.pairs < Double(policy.minPairs) {
                    result.outcome = .inconclusive
                    floorsHeld.append("\(rule.metric.rawValue) clears its bound on \(Int(evidence.pairs)) pairs (min_pairs \(policy.minPairs))")
                } else if rule.metric.needsLabels, evidence.labelled < Double(policy.minLabels) {
                    result.outcome = .inconclusive
                    floorsHeld.append("\(rule.metric.rawValue) clears its bound on \(Int(evidence.labelled)) labelled pairs (min_labels \(policy.minLabels))")
                }
            }
            return result
        }
        let hardFailures = gates.filter { $0.outcome == .fail && $0.rule.hard }
        let softFailures = gates.filter { $0.outcome == .fail && !$0.rule.hard }
        let inconclusive = gates.filter { $0.outcome == .inconclusive }
        hardFailure = !hardFailures.isEmpty
        if !hardFailures.isEmpty || !softFailures.isEmpty {
            outcome = .fail
            reason = "failing: " + (hardFailures + softFailures).map(\.summary).joined(separator: "; ")
        } else if !inconclusive.isEmpty {
            outcome = .inconclusive
            let notYet = inconclusive.filter { $0.rule.metric.carriesEvidence && $0.lowerBound != nil }
                .filter { gate in !floorsHeld.contains { $0.hasPrefix(gate.gate + " ") } }
            var parts = floorsHeld
            if evidence.labelled < Double(policy.minLabels), notYet.contains(where: { $0.rule.metric.needsLabels }) {
                parts.append("only \(Int(evidence.labelled)) labelled pairs in the evidence so far (min_labels \(policy.minLabels))")
            }
            if !notYet.isEmpty { parts.append("not yet decided: " + notYet.map(\.summary).joined(separator: "; ")) }
            let noValue = inconclusive.filter { !$0.rule.metric.carriesEvidence }
            if !noValue.isEmpty {
                parts.append(windowPairs < policy.minPairs
                    ? "only \(windowPairs) pairs in the window for \(noValue.map(\.gate).joined(separator: ", ")) (min_pairs \(policy.minPairs))"
                    : "no value for " + noValue.map(\.gate).joined(separator: ", "))
            }
            reason = parts.joined(separator: "; ")
        } else {
            outcome = .pass
            reason = gates.isEmpty ? "no gates configured; \(pairs) pairs, \(labelledPairs) labelled"
                                   : "all \(gates.count) gates pass on \(pairs) pairs, \(labelledPairs) labelled, at alpha \(ComparisonReport.format(alpha)) each"
        }
    }

    /// One evidence gate: the estimate, the bounds of the gated quantity, the threshold they are
    /// compared with and the outcome.
    static func judge(_ rule: GateRule, evidence: EvidenceCounts, alpha: Double, errorClip: Double? = nil)
        -> (estimate: Double?, lower: Double, upper: Double, threshold: Double, count: Double, outcome: EvaluationOutcome) {
        let lowerIsGood = rule.metric.isLowerBound
        if let power = rule.metric.errorPower {
            // Regression gates: the clipped error difference (learner − legacy) against a maximum.
            let threshold: Double = switch rule.threshold { case .absolute(let x), .relativeToLegacy(let x): x }
            let limit = pow(errorClip ?? 1, Double(power))
            let differences = evidence.errorDifference(power: power).flatMap { $0.limit == limit ? $0 : nil }
                ?? QuantizedDifferenceEvidence(limit: limit)
            let lower = differences.lowerBound(alpha: alpha)
            let upper = differences.upperBound(alpha: alpha)
            let outcome: EvaluationOutcome = upper <= threshold ? .pass : (lower > threshold ? .fail : .inconclusive)
            return (differences.mean, lower, upper, threshold, differences.count, outcome)
        }
        let cs: ConstantBetConfidenceSequence
        let threshold: Double
        let count: Double
        switch (rule.metric, rule.threshold) {
        case (.accuracyDeltaMin, .absolute(let x)), (.accuracyDeltaMin, .relativeToLegacy(let x)):
            cs = evidence.accuracy.confidenceSequence
            threshold = x
            count = evidence.labelled
        case (.learnerAccuracyMin, .absolute(let x)):
            cs = evidence.correct.learner.confidenceSequence
            threshold = x
            count = evidence.labelled
        case (.learnerAccuracyMin, .relativeToLegacy(let f)):
            cs = evidence.correct.difference(factor: f)
            threshold = 0
            count = evidence.labelled
        case (.learnerErrorRateMax, .absolute(let x)):
            cs = evidence.errors.learner.confidenceSequence
            threshold = x
            count = evidence.pairs
        case (.learnerErrorRateMax, .relativeToLegacy(let f)):
            cs = evidence.errors.difference(factor: f)
            threshold = 0
            count = evidence.pairs
        case (.learnerTimeoutRateMax, .absolute(let x)):
            cs = evidence.timeouts.learner.confidenceSequence
            threshold = x
            count = evidence.pairs
        case (.learnerTimeoutRateMax, .relativeToLegacy(let f)):
            cs = evidence.timeouts.difference(factor: f)
            threshold = 0
            count = evidence.pairs
        default:
            preconditionFailure("\(rule.metric.rawValue) carries no evidence")
        }
        let lower = cs.lowerBound(alpha: alpha)
        let upper = cs.upperBound(alpha: alpha)
        let outcome: EvaluationOutcome
        if lowerIsGood {
            outcome = lower >= threshold ? .pass : (upper < threshold ? .fail : .inconclusive)
        } else {
            outcome = upper <= threshold ? .pass : (lower > threshold ? .fail : .inconclusive)
        }
        return (cs.mean, lower, upper, threshold, count, outcome)
    }
}
