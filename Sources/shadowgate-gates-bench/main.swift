import Foundation
import ShadowGateControl
import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting

// `Scripts/bench.sh gates`: the promotion controller's real decision code (PromotionController.StateMachine)
// and the old point-estimate rule (LegacyPointEstimateRule) on the same simulated paired streams.
// RUNS (default 200) runs per scenario, seeds fixed; all numbers are deterministic.

let environment = ProcessInfo.processInfo.environment
let runs = Int(environment["RUNS"] ?? "") ?? 200
let hours = Double(environment["HOURS"] ?? "") ?? 6
let legacyAccuracy = 0.8
let discordance = 0.15
let rate = 5.0

func policy(deltaMin: Double, evidence: PromotionPolicy.EvidenceAcrossSteps = .carry, labelDelay: Duration = PromotionPolicy().labelDelay) -> PromotionPolicy {
    PromotionPolicy(enabled: true, gates: [
        GateRule(metric: .accuracyDeltaMin, threshold: .absolute(deltaMin)),
        GateRule(metric: .learnerErrorRateMax, threshold: .absolute(0.01)),
        GateRule(metric: .learnerP99MsMax, threshold: .relativeToLegacy(1.2)),
    ], labelDelay: labelDelay, evidenceAcrossSteps: evidence)
}

let defaults = policy(deltaMin: 0)
print("""
    gates bench: \(runs) runs per scenario (seeds 1…\(runs)), \(Int(hours)) h horizon
    stream: legacy accuracy \(legacyAccuracy), discordance \(discordance) (models disagree on \(Int(discordance * 100)) % of requests),
            learner error rate 0.001, p99 45 ms vs legacy 40 ms, \(Int(rate)) labelled requests/s, every request labelled
    policy: steps \(defaults.steps.map { Int($0) }), window \(defaults.window.configText), dwell \(defaults.dwell.configText), every \(defaults.evaluateEvery.configText),
            min_pairs \(defaults.minPairs), min_labels \(defaults.minLabels), gates accuracy_delta_min X, learner_error_rate_max 0.01, learner_p99_ms_max 1.2x legacy
    new rule: alpha \(defaults.alpha) (\(ComparisonReport.format(defaults.alphaPerGate)) per evidence gate), label_delay \(defaults.labelDelay.configText), detector_alpha \(defaults.detectorAlpha)

    """)

func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func promotions(_ rule: RuleUnderTest, delta: Double) -> [Double?] {
    let bench = GatesBenchRun(requestsPerSecond: rate, horizon: hours * 3600,
                              before: .paired(legacy: legacyAccuracy, delta: delta, discordance: discordance))
    return (1...runs).map { bench.run(rule, seed: UInt64($0)).promotedAfter }
}

func row(_ label: String, _ cells: [String]) {
    print(label.padding(toLength: 53, withPad: " ", startingAt: 0) + cells.map { $0.padding(toLength: 20, withPad: " ", startingAt: 0) }.joined())
}

// SCENARIOS=regression runs only the regression route's lines (default: all).
let onlyRegression = environment["SCENARIOS"] == "regression"
let rules: [(String, RuleUnderTest)] = onlyRegression ? [] : [
    ("old, delta_min 0", .old(policy(deltaMin: 0))),
    ("old, delta_min 0.02", .old(policy(deltaMin: 0.02))),
    ("new, delta_min 0", .new(policy(deltaMin: 0))),
    ("new, restart/step", .new(policy(deltaMin: 0, evidence: .restart))),
    ("new, label_delay 30s", .new(policy(deltaMin: 0, labelDelay: .seconds(30)))),
]
let started = Date()
if !onlyRegression {
row("scenario", rules.map(\.0))
for (label, delta) in [("A/A: false promotion rate (goal ≤ 0.05)", 0.0), ("1 point worse: false promotion rate (goal ≤ 0.05)", -0.01)] {
    row(label, rules.map { _, rule in
        let promoted = promotions(rule, delta: delta).compactMap { $0 }.count
        return "\(promoted)/\(runs) = \(ComparisonReport.format(Double(promoted) / Double(runs)))"
    })
}
let better = rules.map { _, rule in promotions(rule, delta: 0.03) }
row("3 points better: promoted within the horizon", better.map { "\($0.compactMap { $0 }.count)/\(runs)" })
row("3 points better: median labelled pairs to promote", better.map { results in
    median(results.compactMap { $0 }).map { "\(Int($0 * rate)) (\(Int($0 / 60)) min)" } ?? "never"
})

// Collapse: promoted after 30 min of a 3-points-better learner at 1 labelled request/s, then 0 % right.
let collapse = GatesBenchRun(requestsPerSecond: 1, horizon: 3600 + 1800,
                             before: .paired(legacy: legacyAccuracy, delta: 0.03, discordance: discordance),
                             collapseAt: 1800, after: .collapsed(legacy: legacyAccuracy), startPromoted: true)
let collapseResults = rules.map { _, rule in (1...runs).map { collapse.run(rule, seed: UInt64(10_000 + $0)) } }
let rollbacks = collapseResults.map { $0.map(\.rolledBackAfter) }
row("promoted good learner rolled back before collapse", collapseResults.map { "\($0.filter(\.falseRollback).count)/\(runs)" })
row("collapse to 0 % at 1 labelled/s: rolled back", rollbacks.map { "\($0.compactMap { $0 }.count)/\(runs)" })
row("collapse: median labelled pairs until rollback", rollbacks.map { results in
    median(results.compactMap { $0 }).map { "\(Int($0)) (\(Int($0)) s)" } ?? "never"
})
row("collapse: max labelled pairs until rollback", rollbacks.map { results in
    results.compactMap { $0 }.max().map { "\(Int($0))" } ?? "never"
})
row("collapse: median labelled pairs the rule had counted", zip(rules, rollbacks).map { rule, results in
    let lag: Double = if case .new(let policy) = rule.1 { policy.labelDelay.seconds } else { 0 }
    return median(results.compactMap { $0 }).map { "\(Int(max(0, $0 - lag)))" } ?? "never"  // at 1 labelled request/s
})
}

// Regression route (task: regression): paired |error| differences, mae_delta_max, errors clipped at error_clip.
// Errors: e = shared + own (normal), shared sd 0.8 (the label noise both models see), legacy's own sd 0.6
// (MAE 0.798); the learner's own sd sets how good it is.
let clip = 5.0
func regressionPolicy(maeDeltaMax: Double) -> PromotionPolicy {
    PromotionPolicy(enabled: true, gates: [
        GateRule(metric: .maeDeltaMax, threshold: .absolute(maeDeltaMax)),
        GateRule(metric: .learnerErrorRateMax, threshold: .absolute(0.01)),
        GateRule(metric: .learnerP99MsMax, threshold: .relativeToLegacy(1.2)),
    ], errorClip: clip)
}
func regressionRates(learnerOwn: Double, bias: Double = 0) -> SimulatedPairStream.Rates {
    var rates = SimulatedPairStream.Rates.paired(legacy: legacyAccuracy, delta: 0, discordance: discordance)
    rates.errors = .init(learnerOwn: learnerOwn, learnerBias: bias, clip: clip)
    return rates
}
func mae(own: Double, bias: Double = 0) -> Double {
    // E|N(bias, s²)| with s² = 0.8² + own²
    let s = (0.64 + own * own).squareRoot()
    return s * (2 / Double.pi).squareRoot() * exp(-bias * bias / (2 * s * s)) + bias * (1 - 2 * (0.5 * erfc(bias / (s * 2.squareRoot()))))
}
let regressionRules: [(String, RuleUnderTest)] = [
    ("old, mae_max 0", .old(regressionPolicy(maeDeltaMax: 0))),
    ("old, mae_max -0.03", .old(regressionPolicy(maeDeltaMax: -0.03))),
    ("new, mae_max 0", .new(regressionPolicy(maeDeltaMax: 0))),
]
let regressionRuns = Int(environment["REGRESSION_RUNS"] ?? "") ?? runs
print("""

    regression route: \(regressionRuns) runs per scenario, error_clip \(clip.formattedShort), \(Int(rate)) labelled requests/s; legacy MAE \(ComparisonReport.format(mae(own: 0.6)))
    """)
row("regression scenario", regressionRules.map(\.0))
for (label, own) in [("equal regressor (A/A): false promotion rate", 0.6),
                     ("worse (MAE \(ComparisonReport.format(mae(own: 0.7) - mae(own: 0.6))) higher): false promotion rate", 0.7)] {
    row(label, regressionRules.map { _, rule in
        let bench = GatesBenchRun(requestsPerSecond: rate, horizon: hours * 3600, before: regressionRates(learnerOwn: own))
        let promoted = (1...regressionRuns).compactMap { bench.run(rule, seed: UInt64(20_000 + $0)).promotedAfter }.count
        return "\(promoted)/\(regressionRuns) = \(ComparisonReport.format(Double(promoted) / Double(regressionRuns)))"
    })
}
let betterRegression = regressionRules.map { _, rule in
    let bench = GatesBenchRun(requestsPerSecond: rate, horizon: hours * 3600, before: regressionRates(learnerOwn: 0.45))
    return (1...regressionRuns).map { bench.run(rule, seed: UInt64(30_000 + $0)).promotedAfter }
}
row("better (MAE \(ComparisonReport.format(mae(own: 0.6) - mae(own: 0.45))) lower): promoted", betterRegression.map { "\($0.compactMap { $0 }.count)/\(regressionRuns)" })
row("better: median labelled pairs to promote", betterRegression.map { results in
    median(results.compactMap { $0 }).map { "\(Int($0 * rate)) (\(Int($0 / 60)) min)" } ?? "never"
})
// Collapse: promoted, good for 30 min at 1 labelled request/s, then its predictions are off by 4 (± its noise).
let regressionCollapse = GatesBenchRun(requestsPerSecond: 1, horizon: 3600 + 1800, before: regressionRates(learnerOwn: 0.45),
                                       collapseAt: 1800, after: regressionRates(learnerOwn: 2, bias: 4), startPromoted: true)
let regressionCollapses = regressionRules.map { _, rule in (1...regressionRuns).map { regressionCollapse.run(rule, seed: UInt64(40_000 + $0)) } }
row("promoted good regressor rolled back before collapse", regressionCollapses.map { "\($0.filter(\.falseRollback).count)/\(regressionRuns)" })
row("collapse (errors +4) at 1 labelled/s: rolled back", regressionCollapses.map { "\($0.compactMap(\.rolledBackAfter).count)/\(regressionRuns)" })
row("collapse: median labelled pairs until rollback", regressionCollapses.map { results in
    median(results.compactMap(\.rolledBackAfter)).map { "\(Int($0)) (\(Int($0)) s)" } ?? "never"
})
row("collapse: max labelled pairs until rollback", regressionCollapses.map { results in
    results.compactMap(\.rolledBackAfter).max().map { "\(Int($0))" } ?? "never"
})
row("collapse: median labelled pairs the rule had counted", zip(regressionRules, regressionCollapses).map { rule, results in
    let lag: Double = if case .new(let policy) = rule.1 { policy.labelDelay.seconds } else { 0 }
    return median(results.compactMap(\.rolledBackAfter)).map { "\(Int(max(0, $0 - lag)))" } ?? "never"
})
print("\n(labelled pairs = labelled requests the route served from the start, or from the collapse, until the decision;")
print(" the new rule counts a request's label only after label_delay \(defaults.labelDelay.configText), which is part of its delay)")
print("bench time \(Int(Date().timeIntervalSince(started))) s")
