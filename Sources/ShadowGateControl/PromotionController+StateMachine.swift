import Foundation
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting
import ShadowGateEvidence

extension PromotionController {
    /// What the controller carries about one route between evaluations; stored as JSON in
    /// `shadowgate.rollout_state.evidence_state`, so a replica that takes over continues from it.
    public struct RouteState: Sendable, Hashable, Codable {
        /// The evidence since the last restart and where it started (seconds since 1970).
        public var evidence = EvidenceCounts()
        public var evidenceSince: Double?
        /// Counts were read up to these times: labelled outcomes (lagging by `label_delay`) and the rest.
        public var labelledUntil: Double?
        public var pairsUntil: Double?
        /// The learner versions the evidence covers: the first and the latest seen since the restart.
        public var firstLearnerVersion: String?
        public var lastLearnerVersion: String?
        /// Change detectors, present while the learner serves traffic (canary, promoted).
        public var accuracyDetector: ShiryaevRobertsDetector?
        public var rateDetectors: [String: ShiryaevRobertsDetector] = [:]
        /// Regression routes: one detector per regression gate (`nil` in state from before them).
        public var regressionDetectors: [String: DifferenceChangeDetector]?
        /// The flags revision last seen (a new one by a person restarts the evidence).
        public var flagsRevision: Int64?
        public var passingSince: Double?
        /// The controller's last rollback, until the window is wholly after it or a person changes the flags.
        public var rolledBackAt: Double?

        public init() {}

        /// Whether the state has never evaluated anything (a new route, or state from before 0007).
        public var isFresh: Bool { flagsRevision == nil }
    }

    /// One evaluation's input: the route's flags, the counts that arrived since the watermarks,
    /// compare() over the window (for the gates that carry no evidence), and the time.
    public struct Observation: Sendable {
        public var flags: FlagsSnapshot
        public var counts: EvidenceCounts
        /// The times the counts were read up to (labelled, all pairs).
        public var labelledUntil: Double
        public var pairsUntil: Double
        public var windowMetrics: [String: Double?]
        /// The learner's version in this batch (`nil` when unknown).
        public var learnerVersion: String?
        public var now: Double

        public init(flags: FlagsSnapshot, counts: EvidenceCounts, labelledUntil: Double, pairsUntil: Double,
                    windowMetrics: [String: Double?], learnerVersion: String?, now: Double) {
            self.flags = flags
            self.counts = counts
            self.labelledUntil = labelledUntil
            self.pairsUntil = pairsUntil
            self.windowMetrics = windowMetrics
            self.learnerVersion = learnerVersion
            self.now = now
        }
    }

    /// What the executor does after an event.
    public enum Action: Sendable, Hashable {
        /// Change the flags (through `set_flags()` with the revision read), recorded as `action`.
        case setFlags(RouteFlags, RolloutAction)
        /// Record the decision in `rollout_state` (every evaluation) — and, with a flag change, in `rollout_events`.
        case record(PromotionDecision.Kind, reason: String)
    }

    /// The controller's per-route state machine: evidence, detectors, step, passing-since and the
    /// rollback hold, as a value. Events are ``flagsChanged(_:)`` (a new flags revision, by a
    /// person or the controller) and ``evaluate(_:)`` (counts arrived, at a time); each returns the
    /// actions for the executor. Nothing here touches a database or a clock.
    ///
    /// Promises:
    /// - Promotion: a step is taken only when every gate passes (evidence gates by their confidence
    ///   bounds, see ``PromotionEvaluation/init(policy:metrics:evidence:)``) and the current step has
    ///   lasted `dwell`. So a learner that is not better than its gates ask is promoted with
    ///   probability ≤ `alpha` over the whole life of the evidence, however often it is evaluated.
    /// - Rollback: while the learner serves traffic, a failing hard gate or an alarming change
    ///   detector (paired discordant stream; error and timeout rates) rolls back to `shadow` at once;
    ///   no floor delays it. In `shadow` a failing hard gate blocks (nothing to roll back).
    /// - Evidence restarts after every rollback and every change of the flags by a person, and, with
    ///   `evidence_across_steps: restart`, at each of the controller's own steps; every decision
    ///   names the learner versions its evidence covers.
    public struct StateMachine: Sendable {
        public let policy: PromotionPolicy
        public private(set) var state: RouteState

        public init(policy: PromotionPolicy, state: RouteState = RouteState()) {
            self.policy = policy
            self.state = state
        }

        /// The latest evaluation (for records and metrics); `nil` before the first one.
        public private(set) var lastEvaluation: PromotionEvaluation?

        /// Event: the flags have a revision the machine has not seen.
        public mutating func flagsChanged(_ flags: FlagsSnapshot) {
            defer { state.flagsRevision = flags.revision }
            guard let seen = state.flagsRevision else {
                // First sight of the route: evidence from the current flags onward.
                restartEvidence(at: flags.changedAt, detectorsFor: flags.flags)
                return
            }
            guard seen != flags.revision else { return }
            if flags.changedByController {
                if policy.evidenceAcrossSteps == .restart || flags.flags.mode == .shadow {
                    restartEvidence(at: flags.changedAt, detectorsFor: flags.flags)
                } else if flags.flags.mode == .canary || flags.flags.mode == .promoted, state.accuracyDetector == nil {
                    startDetectors()
                }
            } else {
                // A person takes responsibility: fresh evidence, no rollback hold.
                state.rolledBackAt = nil
                state.passingSince = nil
                restartEvidence(at: flags.changedAt, detectorsFor: flags.flags)
            }
        }

        /// Event: counts arrived. Returns the decision and the actions to execute; the caller
        /// persists ``state`` only when the actions were applied (a conflict re-reads the counts).
        public mutating func evaluate(_ observation: Observation) -> (decision: PromotionDecision, actions: [Action]) {
            if state.flagsRevision != observation.flags.revision { flagsChanged(observation.flags) }
            let flags = observation.flags.flags
            let now = observation.now
            state.labelledUntil = observation.labelledUntil
            state.pairsUntil = observation.pairsUntil
            state.evidence = state.evidence + observation.counts
            if let version = observation.learnerVersion, observation.counts.pairs > 0 {
                if state.firstLearnerVersion == nil { state.firstLearnerVersion = version }
                state.lastLearnerVersion = version
            }
            updateDetectors(observation.counts)
            var evaluation = PromotionEvaluation(policy: policy, metrics: observation.windowMetrics, evidence: state.evidence)
            let serving = flags.mode == .canary || flags.mode == .promoted
            let alarm = serving ? alarmedDetector() : nil
            if let alarm {
                // A detector speaks for its gate: the evaluation fails on it, as a hard gate.
                for index in evaluation.gates.indices where evaluation.gates[index].gate == alarm.gate
                    || (alarm.gate == "paired_accuracy" && evaluation.gates[index].rule.needsPairedAccuracy) {
                    evaluation.gates[index].outcome = .fail
                }
                evaluation.outcome = .fail
                evaluation.hardFailure = true
                evaluation.reason = "change detector alarmed: \(alarm.reason); " + evaluation.reason
            }
            lastEvaluation = evaluation

            func hold(_ reason: String, _ kind: PromotionDecision.Kind = .hold) -> (PromotionDecision, [Action]) {
                (decision(kind, nil, reason), [.record(kind, reason: reason)])
            }
            if flags.mode == .legacy {
                state.passingSince = nil
                return hold("the route is in legacy mode, so there are no pairs to judge; set it to shadow to start")
            }
            if observation.flags.rolledBackByPerson {
                state.passingSince = nil
                return hold("rolled back by hand; the controller resumes once a person sets the flags again "
                            + "(shadowgate flags set, shadowgate promote, or PUT /admin/routes/NAME)")
            }
            if alarm != nil {
                return rollBack(flags, reason: evaluation.reason, now: now)
            }
            switch evaluation.outcome {
            case .fail where evaluation.hardFailure:
                state.passingSince = nil
                guard serving else { return hold("hard gate failing while in shadow: \(evaluation.reason)", .blocked) }
                return rollBack(flags, reason: "hard gate failed: \(evaluation.reason)", now: now)
            case .fail:
                state.passingSince = nil
                return hold("holding, soft gate failing: \(evaluation.reason)")
            case .inconclusive:
                state.passingSince = nil
                return hold("not yet, holding the current step: \(evaluation.reason)")
            case .pass:
                let passingSince = state.passingSince ?? now
                state.passingSince = passingSince
                if let rolledBack = state.rolledBackAt, policy.gates.contains(where: { !$0.metric.carriesEvidence }) {
                    let freshAt = rolledBack + policy.window.seconds
                    if now < freshAt {
                        return hold("gates pass, but the window of \(policy.gates.filter { !$0.metric.carriesEvidence }.map(\.metric.rawValue).joined(separator: ", ")) "
                                    + "still holds traffic from before the rollback; advancing again in \(Int((freshAt - now).rounded(.up))) s")
                    }
                }
                state.rolledBackAt = nil
                guard let next = policy.nextStep(after: flags) else {
                    return hold("promoted; \(evaluation.reason)")
                }
                let onStep = now - observation.flags.changedAt
                if onStep < policy.dwell.seconds {
                    return hold("gates pass; \(Int(onStep)) of \(Int(policy.dwell.seconds.rounded(.up))) s on this step before "
                                + (next.mode == .promoted ? "promoting" : "canary \(next.canaryPercent.formattedShortPercent)"))
                }
                state.passingSince = nil
                let kind: PromotionDecision.Kind = next.mode == .promoted ? .promote : .advance
                let reason = "every gate passed (\(coverage)): \(evaluation.reason)"
                return (decision(kind, next, reason), [.setFlags(next, .advance), .record(kind, reason: reason)])
            }
        }

        /// "learner versions river-25 … river-150 since 09:12:05", for reasons and records.
        public var coverage: String {
            let versions: String
            switch (state.firstLearnerVersion, state.lastLearnerVersion) {
            case let (first?, last?) where first != last: versions = "learner versions \(first) … \(last)"
            case let (first?, _): versions = "learner version \(first)"
            default: versions = "learner version unknown"
            }
            return "\(versions), \(Int(state.evidence.labelled)) labelled of \(Int(state.evidence.pairs)) pairs"
        }

        private mutating func rollBack(_ flags: RouteFlags, reason: String, now: Double) -> (PromotionDecision, [Action]) {
            let target = RouteFlags(mode: .shadow, canaryPercent: 0, shadowPercent: flags.shadowPercent)
            let full = reason + " (\(coverage))"
            state.passingSince = nil
            state.rolledBackAt = now
            let result = (decision(.rollback, target, full), [Action.setFlags(target, .autoRollback), .record(.rollback, reason: full)])
            // Evidence about the learner that failed does not carry into the next attempt.
            restartEvidence(at: now, detectorsFor: target)
            return result
        }

        private func decision(_ kind: PromotionDecision.Kind, _ target: RouteFlags?, _ reason: String) -> PromotionDecision {
            PromotionDecision(kind: kind, target: target, reason: reason,
                              memory: RolloutMemory(passingSince: state.passingSince, rolledBackAt: state.rolledBackAt))
        }

        private mutating func restartEvidence(at time: Double, detectorsFor flags: RouteFlags) {
            state.evidence = EvidenceCounts()
            state.evidenceSince = time
            state.firstLearnerVersion = nil
            state.lastLearnerVersion = nil
            state.accuracyDetector = nil
            state.rateDetectors = [:]
            state.regressionDetectors = nil
            if flags.mode == .canary || flags.mode == .promoted { startDetectors() }
        }

        /// One detector per gate kind that can turn bad: the paired discordant stream (any accuracy
        /// gate) and each absolute error/timeout maximum; `detector_alpha` is split among them.
        private mutating func startDetectors() {
            let hasAccuracy = policy.gates.contains { $0.needsPairedAccuracy }
            let rateGates = policy.gates.filter { gate in
                guard gate.metric == .learnerErrorRateMax || gate.metric == .learnerTimeoutRateMax,
                      case .absolute(let maximum) = gate.threshold else { return false }
                return maximum > 0 && maximum < 0.5
            }
            let regressionGates: [(name: String, threshold: Double, limit: Double)] = policy.gates.compactMap { gate in
                guard let power = gate.metric.errorPower, let clip = policy.errorClip, case .absolute(let maximum) = gate.threshold else { return nil }
                let limit = pow(clip, Double(power))
                return maximum > -limit && maximum < limit ? (gate.metric.rawValue, maximum, limit) : nil
            }
            let count = (hasAccuracy ? 1 : 0) + rateGates.count + regressionGates.count
            guard count > 0 else { return }
            let alpha = policy.detectorAlpha / Double(count)
            if !regressionGates.isEmpty {
                state.regressionDetectors = Dictionary(uniqueKeysWithValues: regressionGates.map {
                    ($0.name, DifferenceChangeDetector(threshold: $0.threshold, limit: $0.limit, alpha: alpha))
                })
            }
            if hasAccuracy { state.accuracyDetector = .pairedAccuracy(alpha: alpha) }
            for gate in rateGates {
                if case .absolute(let maximum) = gate.threshold {
                    state.rateDetectors[gate.metric.rawValue] = .rate(maximum: maximum, alpha: alpha)
                }
            }
        }

        private mutating func updateDetectors(_ counts: EvidenceCounts) {
            state.accuracyDetector?.update(events: counts.legacyOnlyRight, trials: counts.learnerOnlyRight + counts.legacyOnlyRight)
            for (gate, var detector) in state.rateDetectors {
                let events = gate == GateRule.Metric.learnerTimeoutRateMax.rawValue ? counts.learnerTimeouts : counts.learnerErrors
                detector.update(events: events, trials: counts.pairs)
                state.rateDetectors[gate] = detector
            }
            for (gate, var detector) in state.regressionDetectors ?? [:] {
                let power = GateRule.Metric(rawValue: gate)?.errorPower ?? 1
                guard let batch = counts.errorDifference(power: power), batch.limit == detector.limit else { continue }
                detector.update(batch)
                state.regressionDetectors?[gate] = detector
            }
        }

        /// The first alarmed detector: the gate it watches ("paired_accuracy" for the discordant stream) and why.
        private func alarmedDetector() -> (gate: String, reason: String)? {
            if let detector = state.accuracyDetector, detector.alarmed {
                return ("paired_accuracy", "legacy wins the disagreements (Shiryaev–Roberts statistic \(ComparisonReport.format(exp(detector.logStatistic))) ≥ \(ComparisonReport.format(1 / detector.alpha)))")
            }
            for (gate, detector) in state.rateDetectors.sorted(by: { $0.key < $1.key }) where detector.alarmed {
                return (gate, "\(gate) rate rose above \(ComparisonReport.format(detector.nullRate)) (Shiryaev–Roberts statistic \(ComparisonReport.format(exp(detector.logStatistic))) ≥ \(ComparisonReport.format(1 / detector.alpha)))")
            }
            for (gate, detector) in (state.regressionDetectors ?? [:]).sorted(by: { $0.key < $1.key }) where detector.alarmed {
                return (gate, "the learner's clipped error exceeds legacy's by more than \(ComparisonReport.format(detector.threshold)) (\(gate); Shiryaev–Roberts statistic \(ComparisonReport.format(exp(detector.logStatistic))) ≥ \(ComparisonReport.format(1 / detector.alpha)))")
            }
            return nil
        }
    }
}

extension GateRule {
    /// Whether the paired-accuracy change detector watches this gate.
    var needsPairedAccuracy: Bool { metric == .accuracyDeltaMin || metric == .learnerAccuracyMin }
}

extension PromotionController.StateMachine {
    /// The evidence a decision rests on, for `rollout_events.metrics.evidence` and `rollout_state`:
    /// counts since the restart, the learner versions covered, the error levels and the detectors.
    public var evidenceJSON: String {
        let e = state.evidence
        var detectors: [String] = []
        func detector(_ name: String, _ d: ShiryaevRobertsDetector) -> String {
            "{\"name\":\(JSONLiteral.string(name)),\"statistic\":\(JSONLiteral.number(exp(d.logStatistic))),"
                + "\"threshold\":\(JSONLiteral.number(1 / d.alpha)),\"alarmed\":\(d.alarmed),\"batches\":\(d.batches)}"
        }
        if let d = state.accuracyDetector { detectors.append(detector("paired_accuracy", d)) }
        for (gate, d) in state.rateDetectors.sorted(by: { $0.key < $1.key }) { detectors.append(detector(gate, d)) }
        for (gate, d) in (state.regressionDetectors ?? [:]).sorted(by: { $0.key < $1.key }) {
            detectors.append("{\"name\":\(JSONLiteral.string(gate)),\"statistic\":\(JSONLiteral.number(exp(d.logStatistic))),"
                + "\"threshold\":\(JSONLiteral.number(1 / d.alpha)),\"alarmed\":\(d.alarmed),\"batches\":\(d.batches)}")
        }
        var regression: [String] = []
        for (name, differences) in [("abs_error_difference", e.absoluteErrorDifference), ("sq_error_difference", e.squaredErrorDifference)] {
            guard let differences else { continue }
            regression.append("\"\(name)\":{\"pairs\":\(JSONLiteral.number(differences.count, integer: true)),"
                + "\"mean\":\(JSONLiteral.number(differences.mean)),\"limit\":\(JSONLiteral.number(differences.limit))}")
        }
        let fields = [
            "\"since\":\(JSONLiteral.number(state.evidenceSince))",
            "\"pairs\":\(JSONLiteral.number(e.pairs, integer: true))", "\"labelled\":\(JSONLiteral.number(e.labelled, integer: true))",
            "\"learner_only_right\":\(JSONLiteral.number(e.learnerOnlyRight, integer: true))", "\"legacy_only_right\":\(JSONLiteral.number(e.legacyOnlyRight, integer: true))",
            "\"both_right\":\(JSONLiteral.number(e.bothRight, integer: true))", "\"learner_errors\":\(JSONLiteral.number(e.learnerErrors, integer: true))",
            "\"learner_timeouts\":\(JSONLiteral.number(e.learnerTimeouts, integer: true))",
            "\"first_learner_version\":\(JSONLiteral.optionalString(state.firstLearnerVersion))",
            "\"last_learner_version\":\(JSONLiteral.optionalString(state.lastLearnerVersion))",
            "\"alpha\":\(JSONLiteral.number(policy.alpha))", "\"alpha_per_gate\":\(JSONLiteral.number(policy.alphaPerGate))",
            "\"label_delay_s\":\(JSONLiteral.number(policy.labelDelay.seconds))",
            "\"evidence_across_steps\":\(JSONLiteral.string(policy.evidenceAcrossSteps.rawValue))",
            "\"detectors\":[\(detectors.joined(separator: ","))]",
        ] + regression
        return "{" + fields.joined(separator: ",") + "}"
    }
}
