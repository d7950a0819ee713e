/// The three ends of an evaluation (and of each gate in it).
public enum EvaluationOutcome: String, Sendable, Hashable, CaseIterable {
    case pass
    case fail
    /// Too little evidence: too few pairs or labels in the window, or a metric SQL could not compute.
    case inconclusive
}

/// One gate checked against one window.
public struct GateResult: Sendable, Hashable {
    public var rule: GateRule
    /// The learner's (or the pair's) value of the metric; `nil` when SQL returned NULL.
    public var value: Double?
    /// The bound in this window (absolute, or the factor times the legacy value).
    public var bound: Double?
    public var outcome: EvaluationOutcome
    /// For evidence gates: the confidence bounds of the gated quantity at ``alpha`` (each one-sided),
    /// the evidence count they rest on (pairs, or labelled pairs for accuracy) and the gate's alpha.
    /// For a relative threshold the quantity is `learner − factor × legacy` and ``bound`` is 0.
    public var lowerBound: Double? = nil
    public var upperBound: Double? = nil
    public var evidence: Double? = nil
    public var alpha: Double? = nil

    public var gate: String { rule.metric.rawValue }

    /// `learner_error_rate_max 0.35 > 0.01 (hard)`, for reasons and `rollout status`.
    public var summary: String {
        let value = self.value.map { ComparisonReport.format($0) } ?? "n/a"
        let bound = self.bound.map { ComparisonReport.format($0) } ?? "n/a"
        let op: String
        switch outcome {
        case .pass: op = rule.metric.isLowerBound ? "≥" : "≤"
        case .fail: op = rule.metric.isLowerBound ? "<" : ">"
        case .inconclusive: op = "vs"
        }
        let relative = if case .relativeToLegacy = rule.threshold { " (\(rule.threshold))" } else { "" }
        var interval = ""
        if let lower = lowerBound, let upper = upperBound, let evidence {
            interval = " [\(ComparisonReport.format(lower)), \(ComparisonReport.format(upper))] over \(Int(evidence))"
        }
        return "\(gate) \(value)\(interval) \(op) \(bound)\(relative)\(rule.hard ? " (hard)" : " (soft)")"
    }
}

/// A route's gates checked against one `compare()` window.
///
/// Rules: fewer than `min_pairs` pairs makes the whole evaluation inconclusive (nothing is judged
/// on too little traffic). Otherwise each gate passes or fails on its value, except that the
/// accuracy gates are inconclusive below `min_labels` labelled pairs and any gate whose value or
/// legacy reference is NULL is inconclusive. A failing hard gate fails the evaluation even when
/// other gates are inconclusive, so a learner answering garbage is rolled back without waiting
/// for labels; then a failing soft gate fails it; then any inconclusive gate makes it inconclusive.
public struct PromotionEvaluation: Sendable, Hashable {
    public var outcome: EvaluationOutcome
    /// Whether a hard gate failed (the controller rolls back).
    public var hardFailure: Bool
    public var gates: [GateResult]
    public var pairs: Int
    public var labelledPairs: Int
    /// One sentence saying why the outcome is what it is.
    public var reason: String

    public init(policy: PromotionPolicy, metrics: [String: Double?]) {
        let pairs = Int((metrics["pairs"] ?? nil) ?? 0)
        let labelled = Int((metrics["labelled_pairs"] ?? nil) ?? 0)
        self.pairs = pairs
        self.labelledPairs = labelled
        let enoughPairs = pairs >= policy.minPairs
        let enoughLabels = labelled >= policy.minLabels
        gates = policy.gates.map { rule in
            let value = metrics[rule.metric.column] ?? nil
            let bound = rule.bound(in: metrics)
            var outcome = EvaluationOutcome.inconclusive
            if enoughPairs, enoughLabels || !rule.metric.needsLabels, let value, let bound, value.isFinite {
                let passes = rule.metric.isLowerBound ? value >= bound : value <= bound
                outcome = passes ? .pass : .fail
            }
            return GateResult(rule: rule, value: value, bound: bound, outcome: outcome)
        }
        let hardFailures = gates.filter { $0.outcome == .fail && $0.rule.hard }
        let softFailures = gates.filter { $0.outcome == .fail && !$0.rule.hard }
        let inconclusive = gates.filter { $0.outcome == .inconclusive }
        hardFailure = !hardFailures.isEmpty
        if !enoughPairs {
            outcome = .inconclusive
            reason = "only \(pairs) pairs in the window (min_pairs \(policy.minPairs))"
        } else if !hardFailures.isEmpty || !softFailures.isEmpty {
            outcome = .fail
            reason = "failing: " + (hardFailures + softFailures).map(\.summary).joined(separator: "; ")
        } else if !inconclusive.isEmpty {
            outcome = .inconclusive
            if !enoughLabels, inconclusive.contains(where: { $0.rule.metric.needsLabels }) {
                reason = "only \(labelled) labelled pairs in the window (min_labels \(policy.minLabels))"
            } else {
                reason = "no value for " + inconclusive.map(\.gate).joined(separator: ", ")
            }
        } else {
            outcome = .pass
            reason = gates.isEmpty ? "no gates configured; \(pairs) pairs, \(labelled) labelled"
                                   : "all \(gates.count) gates pass over \(pairs) pairs, \(labelled) labelled"
        }
    }
}
