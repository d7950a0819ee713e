import ShadowGateConfig
import ShadowGateConfigYAML
import ShadowGatePromotion
import ShadowGateRouting
import Testing

@Suite("Promotion policy, gates and decisions")
struct PromotionPolicyTests {
    static let config = """
        listen: 127.0.0.1:8080
        routes:
          - name: churn
            match: ["/v2/models/churn/infer"]
            legacy:  { url: "http://127.0.0.1:9001" }
            learner: { url: "http://127.0.0.1:9002" }
            promotion:
              steps: [1, 5, 25, 50, 100]
              window: 10m
              dwell: 5m
              evaluate_every: 500ms
              min_pairs: 500
              min_labels: 200
              gates:
                accuracy_delta_min: 0.0
                agreement_min: { threshold: 0.6, hard: false }
                learner_error_rate_max: 0.01
                learner_p99_ms_max: "1.2x legacy"
        """

    static func policy() throws -> PromotionPolicy {
        try #require(try GatewayConfig.parse(yaml: config).routes.first?.promotion)
    }

    /// A comparison window where the learner is better, with everything a gate reads.
    static func metrics(pairs: Double = 1000, labelled: Double = 400, legacyAccuracy: Double = 0.8,
                        learnerAccuracy: Double = 0.9, agreement: Double = 0.85, learnerErrors: Double = 0.001,
                        legacyP99: Double = 40, learnerP99: Double = 45) -> [String: Double?] {
        [
            "pairs": pairs, "labelled_pairs": labelled, "legacy_accuracy": legacyAccuracy, "learner_accuracy": learnerAccuracy,
            "accuracy_delta": learnerAccuracy - legacyAccuracy, "agreement": agreement, "learner_error_rate": learnerErrors,
            "legacy_error_rate": 0, "legacy_p99_ms": legacyP99, "learner_p99_ms": learnerP99,
        ]
    }

    @Test("the promotion block is read with every key; gates keep a fixed order")
    func readsPolicy() throws {
        let policy = try Self.policy()
        #expect(policy.enabled)
        #expect(policy.steps == [1, 5, 25, 50, 100])
        #expect(policy.window == .seconds(600))
        #expect(policy.dwell == .seconds(300))
        #expect(policy.evaluateEvery == .milliseconds(500))
        #expect(policy.minPairs == 500 && policy.minLabels == 200)
        #expect(policy.gates.map(\.metric) == [.accuracyDeltaMin, .agreementMin, .learnerErrorRateMax, .learnerP99MsMax])
        #expect(policy.gates[1].hard == false)
        #expect(policy.gates[3].threshold == .relativeToLegacy(1.2))
    }

    @Test("bad promotion settings name their key", arguments: [
        ("steps: [5, 1]", "routes[0].promotion.steps[1]", "steps must increase"),
        ("steps: [0.001]", "routes[0].promotion.steps[0]", "out of range"),
        ("window: soon", "routes[0].promotion.window", "expected a duration"),
        ("gates: { agreement_min: \"1.2x legacy\" }", "routes[0].promotion.gates.agreement_min", "give an absolute number"),
        ("gates: { learner_p99_ms_max: fast }", "routes[0].promotion.gates.learner_p99_ms_max", "neither a number nor a factor"),
        ("gates: { latency_max: 3 }", "routes[0].promotion.gates.latency_max", "unknown key"),
    ])
    func refusesBadSettings(line: String, key: String, problem: String) throws {
        let yaml = """
            listen: 127.0.0.1:8080
            routes:
              - name: churn
                match: ["/x"]
                legacy:  { url: "http://127.0.0.1:9001" }
                learner: { url: "http://127.0.0.1:9002" }
                promotion:
                  \(line)
            """
        let error = #expect(throws: ConfigError.self) { try GatewayConfig.parse(yaml: yaml) }
        #expect(error?.key == key)
        #expect(error.map { "\($0)".contains(problem) } ?? false, "\(String(describing: error))")
    }

    @Test("thresholds and durations parse as people write them")
    func parsing() {
        #expect(GateRule.Threshold(parsing: "0.01") == .absolute(0.01))
        #expect(GateRule.Threshold(parsing: "1.2x legacy") == .relativeToLegacy(1.2))
        #expect(GateRule.Threshold(parsing: " 2 × legacy ") == .relativeToLegacy(2))
        #expect(GateRule.Threshold(parsing: "legacy") == nil)
        #expect(GateRule.Threshold(parsing: "1.2y legacy") == nil)
        #expect(Duration(parsingConfig: "500ms") == .milliseconds(500))
        #expect(Duration(parsingConfig: "10m") == .seconds(600))
        #expect(Duration(parsingConfig: "1.5h") == .seconds(5400))
        #expect(Duration(parsingConfig: "30") == .seconds(30))
        #expect(Duration(parsingConfig: "-1s") == nil)
        #expect(Duration.seconds(5400).configText == "1h30m")
    }

    @Test("a window where the learner is better passes every gate; a relative bound follows the legacy value")
    func passes() throws {
        let evaluation = PromotionEvaluation(policy: try Self.policy(), metrics: Self.metrics())
        #expect(evaluation.outcome == .pass)
        #expect(evaluation.gates.allSatisfy { $0.outcome == .pass })
        #expect(evaluation.gates.last?.bound == 48)  // 1.2 × legacy p99 40 ms
        let slow = PromotionEvaluation(policy: try Self.policy(), metrics: Self.metrics(learnerP99: 49))
        #expect(slow.outcome == .fail && slow.hardFailure)
        #expect(slow.reason.contains("learner_p99_ms_max 49 > 48 (1.2x legacy) (hard)"))
    }

    @Test("too few pairs or labels is inconclusive, not a failure")
    func inconclusive() throws {
        let policy = try Self.policy()
        let fewPairs = PromotionEvaluation(policy: policy, metrics: Self.metrics(pairs: 100, learnerErrors: 0.5))
        #expect(fewPairs.outcome == .inconclusive)
        #expect(fewPairs.reason == "only 100 pairs in the window (min_pairs 500)")
        let fewLabels = PromotionEvaluation(policy: policy, metrics: Self.metrics(labelled: 10, learnerAccuracy: 0.1))
        #expect(fewLabels.outcome == .inconclusive)
        #expect(fewLabels.reason == "only 10 labelled pairs in the window (min_labels 200)")
        #expect(fewLabels.gates.first { $0.rule.metric == .accuracyDeltaMin }?.outcome == .inconclusive)
        #expect(fewLabels.gates.first { $0.rule.metric == .learnerErrorRateMax }?.outcome == .pass)
        var missing = Self.metrics()
        missing["learner_p99_ms"] = .some(nil)
        #expect(PromotionEvaluation(policy: policy, metrics: missing).reason == "no value for learner_p99_ms_max")
    }

    @Test("a failing hard gate fails even without enough labels; a soft one only fails softly")
    func failures() throws {
        let policy = try Self.policy()
        let garbage = PromotionEvaluation(policy: policy, metrics: Self.metrics(labelled: 0, learnerErrors: 0.4))
        #expect(garbage.outcome == .fail && garbage.hardFailure)
        let drifting = PromotionEvaluation(policy: policy, metrics: Self.metrics(agreement: 0.3))
        #expect(drifting.outcome == .fail && !drifting.hardFailure)
    }

    // MARK: - decisions

    static func snapshot(_ mode: RouteMode, _ percent: Double = 0, changedAt: Double = 0, byController: Bool = true,
                         rolledBackByPerson: Bool = false) -> FlagsSnapshot {
        FlagsSnapshot(flags: RouteFlags(mode: mode, canaryPercent: percent, shadowPercent: 100), revision: 1,
                      changedAt: changedAt, changedByController: byController, rolledBackByPerson: rolledBackByPerson)
    }

    @Test("passing gates walk shadow → 1 → 5 → 25 → 50 → promoted, one step per dwell")
    func walksTheSteps() throws {
        let policy = try Self.policy()
        let pass = PromotionEvaluation(policy: policy, metrics: Self.metrics())
        var current = Self.snapshot(.shadow)
        var memory = RolloutMemory()
        var now = 1000.0
        var path: [String] = []
        while current.flags.mode != .promoted, now < 10_000 {
            let decision = PromotionDecider.decide(policy: policy, current: current, evaluation: pass, memory: memory, now: now)
            memory = decision.memory
            if let target = decision.target {
                #expect(now - max(current.changedAt, 1000) >= 300, "stepped before the dwell time")
                current = Self.snapshot(target.mode, target.canaryPercent, changedAt: now)
                path.append(target.mode == .canary ? "\(Int(target.canaryPercent))" : target.mode.rawValue)
            } else {
                #expect(decision.kind == .hold)
                #expect(decision.reason.hasPrefix("gates pass; dwelling"))
            }
            now += 60
        }
        #expect(path == ["1", "5", "25", "50", "promoted"])
        let done = PromotionDecider.decide(policy: policy, current: current, evaluation: pass, memory: memory, now: now + 1000)
        #expect(done.kind == .hold && done.reason.hasPrefix("promoted"))
    }

    @Test("a hard failure rolls back at once; advancing waits for a window wholly after the rollback")
    func rollsBack() throws {
        let policy = try Self.policy()
        let fail = PromotionEvaluation(policy: policy, metrics: Self.metrics(learnerErrors: 0.3))
        let pass = PromotionEvaluation(policy: policy, metrics: Self.metrics())
        let rollback = PromotionDecider.decide(policy: policy, current: Self.snapshot(.canary, 25, changedAt: 0), evaluation: fail,
                                               memory: RolloutMemory(passingSince: 10), now: 5000)
        #expect(rollback.kind == .rollback)
        #expect(rollback.target == RouteFlags(mode: .shadow, canaryPercent: 0, shadowPercent: 100))
        #expect(rollback.memory == RolloutMemory(passingSince: nil, rolledBackAt: 5000))
        let shadow = Self.snapshot(.shadow, changedAt: 5000)
        let early = PromotionDecider.decide(policy: policy, current: shadow, evaluation: pass, memory: rollback.memory, now: 5000 + 590)
        #expect(early.kind == .hold)
        #expect(early.reason.contains("window still holds traffic from before the rollback"))
        let fresh = PromotionDecider.decide(policy: policy, current: shadow, evaluation: pass, memory: early.memory, now: 5000 + 900)
        #expect(fresh.kind == .advance)
        #expect(fresh.target?.canaryPercent == 1)
        // In shadow a hard failure has nothing to roll back: blocked.
        let blocked = PromotionDecider.decide(policy: policy, current: shadow, evaluation: fail, memory: RolloutMemory(), now: 9000)
        #expect(blocked.kind == .blocked && blocked.target == nil)
    }

    @Test("a person's change clears the rollback hold; a person's rollback stops the controller")
    func peopleWin() throws {
        let policy = try Self.policy()
        let pass = PromotionEvaluation(policy: policy, metrics: Self.metrics())
        let held = RolloutMemory(passingSince: 5000, rolledBackAt: 5000)
        let personSet = Self.snapshot(.canary, 5, changedAt: 5100, byController: false)
        let cleared = PromotionDecider.decide(policy: policy, current: personSet, evaluation: pass, memory: held, now: 5500)
        #expect(cleared.kind == .advance && cleared.target?.canaryPercent == 25)
        let personRollback = Self.snapshot(.shadow, changedAt: 5100, byController: false, rolledBackByPerson: true)
        let stays = PromotionDecider.decide(policy: policy, current: personRollback, evaluation: pass, memory: RolloutMemory(), now: 99_000)
        #expect(stays.kind == .hold && stays.reason.hasPrefix("rolled back by hand"))
    }

    @Test("soft failures and inconclusive windows hold and restart the dwell")
    func holds() throws {
        let policy = try Self.policy()
        let soft = PromotionEvaluation(policy: policy, metrics: Self.metrics(agreement: 0.3))
        let decision = PromotionDecider.decide(policy: policy, current: Self.snapshot(.canary, 5), evaluation: soft,
                                               memory: RolloutMemory(passingSince: 1), now: 10_000)
        #expect(decision.kind == .hold && decision.target == nil && decision.memory.passingSince == nil)
        let thin = PromotionEvaluation(policy: policy, metrics: Self.metrics(pairs: 3))
        let waiting = PromotionDecider.decide(policy: policy, current: Self.snapshot(.canary, 5), evaluation: thin,
                                              memory: RolloutMemory(passingSince: 1), now: 10_000)
        #expect(waiting.kind == .hold && waiting.reason.hasPrefix("inconclusive"))
    }

    @Test("canary percentages have a 0.01 % resolution")
    func resolution() {
        let keys = (0..<100_000).map { "k\($0)" }
        let learner = keys.filter { StickyBucket.isLearner(bucket: StickyBucket.bucket(for: $0), percent: 0.01) }.count
        #expect((1...30).contains(learner), "\(learner) of 100k keys at 0.01 %")
        #expect(!keys.contains { StickyBucket.isLearner(bucket: StickyBucket.bucket(for: $0), percent: 0) })
    }
}
