import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting
import Testing

@Suite("Evidence gates and the new promotion keys")
struct EvidenceGateTests {
    static func yaml(_ lines: String) -> String {
        """
        listen: 127.0.0.1:8080
        routes:
          - name: churn
            match: ["/x"]
            legacy:  { url: "http://127.0.0.1:9001" }
            learner: { url: "http://127.0.0.1:9002" }
            promotion:
        \(lines)
        """
    }

    @Test("alpha, label_delay, evidence_across_steps and detector_alpha parse; the defaults apply without them")
    func keys() throws {
        let policy = try #require(try GatewayConfig.parse(yaml: Self.yaml("""
                  alpha: 0.01
                  label_delay: 2m
                  evidence_across_steps: restart
                  detector_alpha: 0.001
                  window: 10m
                  dwell: 5m
                  evaluate_every: 15s
                  min_pairs: 500
                  min_labels: 200
                  gates:
                    accuracy_delta_min: -0.01
                    learner_error_rate_max: 0.01
                    learner_p99_ms_max: "1.2x legacy"
            """)).routes.first?.promotion)
        #expect(policy.alpha == 0.01 && policy.labelDelay == .seconds(120))
        #expect(policy.evidenceAcrossSteps == .restart && policy.detectorAlpha == 0.001)
        #expect(policy.alphaPerGate == 0.005)  // two evidence gates; the latency gate carries none
        let defaults = try #require(try GatewayConfig.parse(yaml: Self.yaml("          enabled: true")).routes.first?.promotion)
        #expect(defaults.alpha == 0.05 && defaults.labelDelay == .seconds(10) && defaults.evidenceAcrossSteps == .carry)
        #expect(defaults.detectorAlpha == 0.0001)
        #expect(defaults.alphaPerGate == 0.025)
    }

    @Test("bad values of the new keys name their key", arguments: [
        ("alpha: 0.9", "routes[0].promotion.alpha"),
        ("label_delay: later", "routes[0].promotion.label_delay"),
        ("evidence_across_steps: sometimes", "routes[0].promotion.evidence_across_steps"),
    ])
    func refuses(line: String, key: String) {
        let error = #expect(throws: ConfigError.self) { try GatewayConfig.parse(yaml: Self.yaml("          " + line)) }
        #expect(error?.key == key)
    }

    static let policy = PromotionPolicy(enabled: true, minPairs: 500, minLabels: 200, gates: [
        GateRule(metric: .accuracyDeltaMin, threshold: .absolute(0)),
        GateRule(metric: .learnerErrorRateMax, threshold: .absolute(0.01)),
    ])

    @Test("accuracy_delta_min 0 passes on a lower bound above 0, fails on an upper bound below 0, else not yet")
    func accuracyBounds() throws {
        let better = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: EvidenceCounts(pairs: 3000, labelled: 3000, learnerOnlyRight: 300, legacyOnlyRight: 150))
        #expect(better.outcome == .pass, "\(better.reason)")
        let gate = try #require(better.gates.first)
        #expect(gate.lowerBound! > 0 && gate.upperBound! > gate.value! && gate.evidence == 3000 && gate.alpha == 0.025)
        let equal = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: EvidenceCounts(pairs: 3000, labelled: 3000, learnerOnlyRight: 200, legacyOnlyRight: 200))
        #expect(equal.outcome == .inconclusive && equal.gates[0].outcome == .inconclusive)
        #expect(equal.reason.contains("not yet decided: accuracy_delta_min 0 ["), "\(equal.reason)")
        let worse = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: EvidenceCounts(pairs: 3000, labelled: 3000, learnerOnlyRight: 100, legacyOnlyRight: 300))
        #expect(worse.outcome == .fail && worse.hardFailure)
        // Non-inferiority: the same "equal" evidence passes a margin of one point.
        var lenient = Self.policy
        lenient.gates[0].threshold = .absolute(-0.05)
        #expect(PromotionEvaluation(policy: lenient, metrics: [:], evidence: EvidenceCounts(pairs: 3000, labelled: 3000, learnerOnlyRight: 200, legacyOnlyRight: 200)).gates[0].outcome == .pass)
    }

    @Test("min_pairs and min_labels hold back a pass, never a failure")
    func floors() {
        let fewButClear = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: EvidenceCounts(pairs: 150, labelled: 150, learnerOnlyRight: 60, legacyOnlyRight: 0))
        #expect(fewButClear.outcome == .inconclusive)
        #expect(fewButClear.reason.contains("min_pairs 500"))
        let fewAndBad = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: EvidenceCounts(pairs: 40, labelled: 40, learnerOnlyRight: 0, legacyOnlyRight: 35))
        #expect(fewAndBad.outcome == .fail && fewAndBad.hardFailure, "\(fewAndBad.reason)")
    }

    @Test("relative error thresholds are judged on the paired difference learner − factor × legacy")
    func relative() {
        let policy = PromotionPolicy(enabled: true, minPairs: 0, minLabels: 0, gates: [GateRule(metric: .learnerErrorRateMax, threshold: .relativeToLegacy(1.2))])
        let same = PromotionEvaluation(policy: policy, metrics: [:], evidence: EvidenceCounts(pairs: 5000, learnerErrors: 50, legacyErrors: 50, bothErrors: 50))
        #expect(same.gates[0].outcome == .pass && same.gates[0].bound == 0)
        let worse = PromotionEvaluation(policy: policy, metrics: [:], evidence: EvidenceCounts(pairs: 5000, learnerErrors: 400, legacyErrors: 50, bothErrors: 10))
        #expect(worse.gates[0].outcome == .fail)
    }
}
