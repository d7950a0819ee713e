import Foundation
import ShadowGateControl
import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting
import Testing

/// Every transition of the controller's per-route state machine, without a database.
@Suite("Promotion controller state machine")
struct PromotionStateMachineTests {
    typealias Machine = PromotionController.StateMachine

    static let gates = [
        GateRule(metric: .accuracyDeltaMin, threshold: .absolute(0)),
        GateRule(metric: .learnerErrorRateMax, threshold: .absolute(0.01)),
    ]

    static func policy(dwell: Duration = .seconds(60), evidence: PromotionPolicy.EvidenceAcrossSteps = .carry,
                       gates: [GateRule] = gates) -> PromotionPolicy {
        PromotionPolicy(enabled: true, steps: [5, 50, 100], window: .seconds(600), dwell: dwell, evaluateEvery: .seconds(15),
                        minPairs: 100, minLabels: 50, gates: gates, evidenceAcrossSteps: evidence)
    }

    static func flags(_ mode: RouteMode, _ percent: Double = 0, revision: Int64 = 1, at: Double = 0, byController: Bool = false,
                      rolledBackByPerson: Bool = false) -> FlagsSnapshot {
        FlagsSnapshot(flags: RouteFlags(mode: mode, canaryPercent: percent, shadowPercent: 100), revision: revision,
                      changedAt: at, changedByController: byController, rolledBackByPerson: rolledBackByPerson)
    }

    /// `n` labelled pairs with b learner-only and c legacy-only right, and `errors` learner errors.
    static func counts(_ n: Double, b: Double, c: Double, errors: Double = 0) -> EvidenceCounts {
        EvidenceCounts(pairs: n, learnerErrors: errors, labelled: n, learnerOnlyRight: b, legacyOnlyRight: c, bothRight: (n - b - c) * 0.7)
    }

    static func observe(_ machine: inout Machine, _ flags: FlagsSnapshot, _ counts: EvidenceCounts, now: Double,
                        window: [String: Double?] = ["pairs": 1000], version: String? = "v1")
        -> (decision: PromotionDecision, actions: [PromotionController.Action]) {
        machine.evaluate(.init(flags: flags, counts: counts, labelledUntil: now - 30, pairsUntil: now - 2,
                               windowMetrics: window, learnerVersion: version, now: now))
    }

    static func target(_ actions: [PromotionController.Action]) -> (RouteFlags, RolloutAction)? {
        for case .setFlags(let flags, let action) in actions { return (flags, action) }
        return nil
    }

    @Test("clear evidence of a better learner advances once the step has lasted dwell; the floors hold a pass back")
    func advances() {
        var machine = Machine(policy: Self.policy())
        let shadow = Self.flags(.shadow, at: 0)
        // 60 pairs: a pass on the bounds would already be possible, but min_pairs is 100.
        let early = Self.observe(&machine, shadow, Self.counts(60, b: 30, c: 0), now: 100)
        #expect(early.decision.kind == .hold)
        #expect(early.decision.reason.contains("min_pairs 100"), "\(early.decision.reason)")
        let pass = Self.observe(&machine, shadow, Self.counts(1000, b: 150, c: 20), now: 115)
        #expect(pass.decision.kind == .advance, "\(pass.decision.reason)")
        #expect(Self.target(pass.actions)?.0 == RouteFlags(mode: .canary, canaryPercent: 5, shadowPercent: 100))
        #expect(Self.target(pass.actions)?.1 == .advance)
        #expect(pass.decision.reason.contains("learner version v1"))
        #expect(pass.actions.contains(.record(.advance, reason: pass.decision.reason)))
        // On the new step, the next one waits for dwell (60 s) although the gates pass.
        let canary = Self.flags(.canary, 5, revision: 2, at: 115, byController: true)
        let dwelling = Self.observe(&machine, canary, Self.counts(75, b: 10, c: 2), now: 130)
        #expect(dwelling.decision.kind == .hold && dwelling.decision.reason.hasPrefix("gates pass; 15 of 60 s"), "\(dwelling.decision.reason)")
        // Evidence carried across the controller's own step.
        #expect(machine.state.evidence.labelled == 1135)
        let next = Self.observe(&machine, canary, Self.counts(75, b: 10, c: 2), now: 180)
        #expect(Self.target(next.actions)?.0.canaryPercent == 50)
    }

    @Test("with evidence_across_steps: restart, each step starts from no evidence")
    func restartsPerStep() {
        var machine = Machine(policy: Self.policy(evidence: .restart))
        _ = Self.observe(&machine, Self.flags(.shadow), Self.counts(1000, b: 150, c: 20), now: 100)
        #expect(machine.state.evidence.labelled == 1000)
        let after = Self.observe(&machine, Self.flags(.canary, 5, revision: 2, at: 100, byController: true), Self.counts(40, b: 5, c: 1), now: 115)
        #expect(machine.state.evidence.labelled == 40)
        #expect(after.decision.kind == .hold)
    }

    @Test("an A/A learner is never promoted on accuracy_delta_min 0; a worse one is blocked in shadow")
    func equalAndWorse() {
        var equal = Machine(policy: Self.policy())
        for step in 1...40 {
            let d = Self.observe(&equal, Self.flags(.shadow), Self.counts(500, b: 40, c: 40), now: Double(step) * 15)
            #expect(d.decision.kind == .hold)
        }
        let worse = Self.observe(&equal, Self.flags(.shadow), Self.counts(20_000, b: 1000, c: 1600), now: 700)
        #expect(worse.decision.kind == .blocked, "\(worse.decision.reason)")
        #expect(Self.target(worse.actions) == nil)
    }

    @Test("a hard gate failing on few pairs rolls back at once: floors never delay a rollback")
    func rollsBackWithoutFloors() {
        var machine = Machine(policy: Self.policy())
        let canary = Self.flags(.canary, 5, revision: 3, at: 0, byController: true)
        let decision = Self.observe(&machine, canary, Self.counts(30, b: 0, c: 0, errors: 30), now: 15)
        #expect(decision.decision.kind == .rollback, "\(decision.decision.reason)")
        #expect(Self.target(decision.actions)?.0 == RouteFlags(mode: .shadow, canaryPercent: 0, shadowPercent: 100))
        #expect(Self.target(decision.actions)?.1 == .autoRollback)
        #expect(decision.decision.reason.contains("learner_error_rate_max"))
        #expect(machine.state.rolledBackAt == 15)
        #expect(machine.state.evidence == EvidenceCounts(), "evidence restarts after a rollback")
        #expect(machine.state.accuracyDetector == nil, "no detector while in shadow")
    }

    @Test("after long good evidence, a collapse is caught by the change detector within a few batches")
    func detectorCatchesCollapse() {
        var machine = Machine(policy: Self.policy())
        let promoted = Self.flags(.promoted, 100, revision: 5, at: 0, byController: false)
        _ = Self.observe(&machine, promoted, Self.counts(50_000, b: 4500, c: 3000), now: 15)
        #expect(machine.state.accuracyDetector != nil && machine.state.rateDetectors.count == 1)
        var batches = 0
        var last: PromotionDecision?
        while batches < 10 {
            batches += 1
            let d = Self.observe(&machine, promoted, Self.counts(15, b: 0, c: 12), now: 15 + Double(batches) * 15)
            last = d.decision
            if d.decision.kind == .rollback { break }
        }
        #expect(last?.kind == .rollback)
        #expect(batches <= 2, "rolled back after \(batches) batches of 15 labelled pairs")
        #expect(last?.reason.contains("change detector alarmed: legacy wins the disagreements") == true)
    }

    @Test("a person's change restarts the evidence and clears the rollback hold; a person's rollback stops the machine")
    func people() {
        var machine = Machine(policy: Self.policy(gates: Self.gates + [GateRule(metric: .learnerP99MsMax, threshold: .absolute(100))]))
        let canary = Self.flags(.canary, 5, revision: 2, at: 0, byController: true)
        _ = Self.observe(&machine, canary, Self.counts(30, b: 0, c: 0, errors: 30), now: 15)
        #expect(machine.state.rolledBackAt == 15)
        // Back in shadow by the controller: a pass waits until the window of the point gate is after the rollback.
        let shadow = Self.flags(.shadow, revision: 3, at: 15, byController: true)
        let held = Self.observe(&machine, shadow, Self.counts(2000, b: 300, c: 40), now: 300, window: ["pairs": 1000, "learner_p99_ms": 20])
        #expect(held.decision.kind == .hold && held.decision.reason.contains("still holds traffic from before the rollback"), "\(held.decision.reason)")
        // A person sets canary 5: fresh evidence, hold cleared.
        let person = Self.flags(.canary, 5, revision: 4, at: 310, byController: false)
        let fresh = Self.observe(&machine, person, Self.counts(10, b: 1, c: 0), now: 320, window: ["pairs": 1000, "learner_p99_ms": 20])
        #expect(machine.state.rolledBackAt == nil)
        #expect(machine.state.evidence.labelled == 10)
        #expect(fresh.decision.kind == .hold)
        let rolledBack = Self.flags(.shadow, revision: 5, at: 400, byController: false, rolledBackByPerson: true)
        let stays = Self.observe(&machine, rolledBack, Self.counts(5000, b: 900, c: 10), now: 9000)
        #expect(stays.decision.kind == .hold && stays.decision.reason.hasPrefix("rolled back by hand"))
    }

    @Test("legacy mode holds; a soft failure holds; the learner versions covered are recorded")
    func holds() {
        var machine = Machine(policy: Self.policy(gates: Self.gates + [GateRule(metric: .agreementMin, threshold: .absolute(0.9), hard: false)]))
        let legacy = Self.observe(&machine, Self.flags(.legacy), Self.counts(0, b: 0, c: 0), now: 15)
        #expect(legacy.decision.kind == .hold && legacy.decision.reason.contains("legacy mode"))
        let soft = Self.observe(&machine, Self.flags(.legacy, revision: 2, at: 20), Self.counts(2000, b: 300, c: 40), now: 30,
                                window: ["pairs": 1000, "agreement": 0.5], version: "river-1")
        #expect(soft.decision.kind == .hold)
        var other = Machine(policy: Self.policy(gates: Self.gates + [GateRule(metric: .agreementMin, threshold: .absolute(0.9), hard: false)]))
        _ = Self.observe(&other, Self.flags(.shadow), Self.counts(1000, b: 150, c: 20), now: 100, window: ["pairs": 1000, "agreement": 0.5], version: "river-1")
        let d = Self.observe(&other, Self.flags(.shadow), Self.counts(1000, b: 150, c: 20), now: 115, window: ["pairs": 1000, "agreement": 0.5], version: "river-2")
        #expect(d.decision.kind == .hold && d.decision.reason.hasPrefix("holding, soft gate failing"))
        #expect(other.coverage.hasPrefix("learner versions river-1 … river-2"))
        #expect(other.evidenceJSON.contains("\"first_learner_version\":\"river-1\""))
    }

    @Test("the state survives JSON (as rollout_state.evidence_state stores it)")
    func codable() throws {
        var machine = Machine(policy: Self.policy())
        _ = Self.observe(&machine, Self.flags(.promoted, 100), Self.counts(500, b: 40, c: 30, errors: 1), now: 15)
        let data = try JSONEncoder().encode(machine.state)
        let decoded = try JSONDecoder().decode(PromotionController.RouteState.self, from: data)
        #expect(decoded == machine.state)
        #expect(decoded.accuracyDetector?.batches == 1)
        // A detector that has seen nothing yet is plain JSON too.
        var fresh = Machine(policy: Self.policy())
        _ = Self.observe(&fresh, Self.flags(.canary, 5), EvidenceCounts(), now: 15)
        #expect(fresh.state.accuracyDetector?.batches == 0)
        let plain = try JSONDecoder().decode(PromotionController.RouteState.self, from: JSONEncoder().encode(fresh.state))
        #expect(plain == fresh.state)
    }
}
