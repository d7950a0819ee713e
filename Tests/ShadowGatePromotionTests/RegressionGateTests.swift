import ShadowGateConfig
import ShadowGateEvidence
import ShadowGatePromotion
import ShadowGateRouting
import Testing

@Suite("Regression routes: task, error_clip, mae_delta_max / mse_delta_max")
struct RegressionGateTests {
    static func yaml(task: String = "regression", _ lines: String) -> String {
        """
        listen: 127.0.0.1:8080
        routes:
          - name: price
            match: ["/x"]
            task: \(task)
            holdout_percent: 2.5
            legacy:  { url: "http://127.0.0.1:9001" }
            learner: { url: "http://127.0.0.1:9002" }
            promotion:
        \(lines)
        """
    }

    @Test("task, holdout_percent, error_clip, evidence and the regression gates parse; a regression route's default gates bound the MAE")
    func keys() throws {
        let route = try #require(try GatewayConfig.parse(yaml: Self.yaml("""
                  error_clip: 5
                  evidence: holdout
                  gates:
                    mae_delta_max: 0
                    mse_delta_max: 0.5
                    learner_error_rate_max: 0.01
            """)).routes.first)
        #expect(route.task == .regression && route.holdoutPercent == 2.5)
        let policy = try #require(route.promotion)
        #expect(policy.errorClip == 5 && policy.evidenceSource == .holdout && policy.hasRegressionGates)
        #expect(policy.gates.map(\.metric) == [.learnerErrorRateMax, .maeDeltaMax, .mseDeltaMax])
        #expect(policy.alphaPerGate == 0.05 / 3)
        let defaults = try #require(try GatewayConfig.parse(yaml: Self.yaml("          error_clip: 10")).routes.first?.promotion)
        #expect(defaults.gates == PromotionPolicy.defaultRegressionGates)
        let classification = try #require(try GatewayConfig.parse(yaml: Self.yaml(task: "classification", "          enabled: true")).routes.first)
        #expect(classification.task == .classification && classification.promotion?.gates == PromotionPolicy.defaultGates)
    }

    @Test("refused: a regression gate without error_clip or task, a relative one, one beyond the clip, an unknown task", arguments: [
        ("regression", "          gates: { mae_delta_max: 0 }", "routes[0].promotion.error_clip"),
        ("regression", "          enabled: true", "routes[0].promotion.error_clip"),
        ("classification", "          error_clip: 5\n          gates: { mae_delta_max: 0 }", "routes[0].promotion.gates.mae_delta_max"),
        ("regression", "          error_clip: 5\n          gates: { mae_delta_max: \"1.1x legacy\" }", "routes[0].promotion.gates.mae_delta_max"),
        ("regression", "          error_clip: 2\n          gates: { mse_delta_max: 4 }", "routes[0].promotion.gates.mse_delta_max"),
        ("ranking", "          enabled: true", "routes[0].task"),
    ])
    func refuses(task: String, lines: String, key: String) {
        let error = #expect(throws: ConfigError.self) { try GatewayConfig.parse(yaml: Self.yaml(task: task, lines)) }
        #expect(error?.key == key, "\(String(describing: error))")
    }

    static let policy = PromotionPolicy(enabled: true, minPairs: 100, minLabels: 100, gates: [
        GateRule(metric: .maeDeltaMax, threshold: .absolute(0)),
    ], errorClip: 5)

    static func evidence(_ differences: [Double], limit: Double = 5) -> EvidenceCounts {
        var counts = EvidenceCounts(pairs: Double(differences.count), labelled: Double(differences.count))
        var e = QuantizedDifferenceEvidence(limit: limit)
        for d in differences { e.add(d) }
        counts.absoluteErrorDifference = e
        return counts
    }

    @Test("mae_delta_max 0 passes on an upper bound ≤ 0, fails on a lower bound > 0, else not yet; bounds are reported")
    func bounds() throws {
        // learner errs 0.1 less on 3,000 pairs with a spread of ±0.5
        let better = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: Self.evidence((0..<3000).map { $0 % 2 == 0 ? 0.4 : -0.6 }))
        let gate = try #require(better.gates.first)
        #expect(better.outcome == .pass, "\(better.reason)")
        #expect(gate.upperBound! <= 0 && gate.lowerBound! < gate.value! && abs(gate.value! + 0.1) < 1e-9 && gate.evidence == 3000)
        let equal = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: Self.evidence((0..<3000).map { $0 % 2 == 0 ? 0.5 : -0.5 }))
        #expect(equal.outcome == .inconclusive)
        let worse = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: Self.evidence((0..<40).map { _ in 3.0 }))
        #expect(worse.outcome == .fail && worse.hardFailure, "\(worse.reason)")  // no floor delays a failure
        // below the floors a pass waits
        let few = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: Self.evidence((0..<60).map { _ in -2.0 }))
        #expect(few.gates[0].outcome == .inconclusive && few.reason.contains("min_pairs"), "\(few.reason)")
        // no regression evidence yet: the bounds are the clip's range
        let none = PromotionEvaluation(policy: Self.policy, metrics: [:], evidence: EvidenceCounts())
        #expect(none.gates[0].lowerBound == -5 && none.gates[0].upperBound == 5 && none.outcome == .inconclusive)
    }

    @Test("mse_delta_max judges the squared differences, on the clip squared")
    func squared() {
        var policy = Self.policy
        policy.gates = [GateRule(metric: .mseDeltaMax, threshold: .absolute(0.5))]
        var counts = EvidenceCounts(pairs: 500, labelled: 500)
        var e = QuantizedDifferenceEvidence(limit: 25)
        for _ in 0..<500 { e.add(4) }
        counts.squaredErrorDifference = e
        let evaluation = PromotionEvaluation(policy: policy, metrics: [:], evidence: counts)
        #expect(evaluation.outcome == .fail && evaluation.gates[0].upperBound! <= 25)
        // evidence of another clip is not used
        policy.errorClip = 4
        #expect(PromotionEvaluation(policy: policy, metrics: [:], evidence: counts).gates[0].evidence == 0)
    }
}
