import Foundation
import LibPQ
import ShadowGateTesting
import Synchronization
import Testing

/// A continuous learner as a stub: its decision boundary moves toward the truth with every label
/// it is fed, so its accuracy overtakes a legacy model frozen on an old boundary. It can be told
/// to answer garbage.
final class LearningStub: Sendable {
    private let state = Mutex<(learned: Int, garbage: Bool)>((0, false))

    /// The truth of the drifted stream: class 1 from 0.5 up.
    static func label(_ x: Double) -> Int { x >= 0.5 ? 1 : 0 }
    /// The legacy model learned the boundary at 0.8 before the drift: 70 % accurate on uniform x.
    static func legacyAnswer(_ x: Double) -> String { #"{"predictions":[\#(x >= 0.8 ? 0.9 : 0.1)],"model_version":"legacy-2024"}"# }

    var learned: Int { state.withLock { $0.learned } }
    func answerGarbage(_ on: Bool) { state.withLock { $0.garbage = on } }

    func answer(_ request: UpstreamStub.ReceivedRequest) -> (status: Int, body: String) {
        if request.uri == "/feedback" {
            // The gateway delivers labels in batches: one item per label, each with its idempotency key.
            let labels = request.bodyString.components(separatedBy: #""idempotency_key""#).count - 1
            state.withLock { $0.learned += labels }
            return (200, #"{"learned":true}"#)
        }
        let (learned, garbage) = state.withLock { ($0.learned, $0.garbage) }
        if garbage { return (200, "garbage{{") }
        // Starts predicting class 0 everywhere (boundary 1.0), reaches the truth after 125 labels.
        let boundary = max(0.5, 1.0 - Double(learned) * 0.004)
        let x = Self.feature(request.bodyString) ?? 0
        return (200, #"{"predictions":[\#(x >= boundary ? 0.9 : 0.1)],"model_version":"river-\#(learned / 25 * 25)"}"#)
    }

    /// The first number of `{"instances":[[x]]}`.
    static func feature(_ body: String) -> Double? {
        guard let start = body.range(of: "[[") else { return nil }
        return Double(body[start.upperBound...].prefix { $0.isNumber || $0 == "." || $0 == "-" })
    }
}

@Suite("Promotion controller scenarios", .serialized)
struct PromotionScenarioTests {
    static let promotion = """
            promotion:
              steps: [1, 5, 25, 50, 100]
              window: 2s
              dwell: 500ms
              evaluate_every: 200ms
              min_pairs: 30
              min_labels: 20
              label_delay: 2s
              gates:
                accuracy_delta_min: 0.0
                learner_error_rate_max: 0.05
                learner_p99_ms_max: 1000
        """

    @Test("the learner overtakes, the controller walks to promoted; garbage from the learner rolls it back within one window")
    func promoteThenRollBack() async throws {
        let model = LearningStub()
        let legacy = try await UpstreamStub(.dynamic { request in
            (200, LearningStub.legacyAnswer(LearningStub.feature(request.bodyString) ?? 0))
        })
        let learner = try await UpstreamStub(.dynamic { model.answer($0) })
        let gateway = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: learner, routeExtra: "    sticky_key: header:x-user-id\n" + Self.promotion)
        defer { _ = gateway.stop() }
        let database = gateway.database
        let client = try await TestHTTPClient(port: gateway.port)
        var sent: [(id: String, x: Double)] = []
        var next = 0

        /// One request of the stream, and the label of the request 20 back (labels arrive late).
        func step() async throws -> TestResponse {
            let x = (Double(next) * 0.6180339887).truncatingRemainder(dividingBy: 1)
            let response = try await client.send(
                .POST, "/v1/models/m:predict", headers: [("x-user-id", "u-\(next % 97)")], body: #"{"instances":[[\#(x)]]}"#)
            sent.append((response.header("x-request-id") ?? "", x))
            if sent.count > 20 {
                let (id, x) = sent[sent.count - 21]
                _ = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"\#(id)","label":\#(LearningStub.label(x))}"#)
            }
            next += 1
            try await Task.sleep(for: .milliseconds(5))
            return response
        }
        func mode() async throws -> String? { try await query(database, "SELECT mode FROM shadowgate.flags WHERE route = 'm'").first?.first ?? nil }

        // 1. Shadow → canary steps → promoted, while the learner learns.
        let walkDeadline = ContinuousClock.now + .seconds(90)
        while try await mode() != "promoted", ContinuousClock.now < walkDeadline {
            for _ in 0..<10 { _ = try await step() }
        }
        let walked = try await mode()
        let statusText = try await rolloutStatus(database)
        #expect(walked == "promoted", "learned \(model.learned) labels; status:\n\(statusText)")
        var servedByLearner = 0
        for _ in 0..<20 {
            let response = try await step()
            if response.header("x-shadowgate-served-by") == "learner", response.bodyString.contains("river-") { servedByLearner += 1 }
        }
        #expect(servedByLearner == 20)

        // 2. The learner starts answering garbage: back to shadow within a few seconds. (Was: within
        //    one window, 2 s. The controller now counts a pair only once it has surely reached
        //    PostgreSQL — the learner's timeout, 1 s here, plus 0.5 s — so every pair is counted
        //    exactly once; the detector then needs a handful of errors.)
        model.answerGarbage(true)
        let brokeAt = ContinuousClock.now
        let rollbackDeadline = brokeAt + .seconds(10)
        while try await mode() != "shadow", ContinuousClock.now < rollbackDeadline {
            for _ in 0..<5 { _ = try await step() }
        }
        let rolledBackAfter = ContinuousClock.now - brokeAt
        #expect(try await mode() == "shadow")
        #expect(rolledBackAfter < .seconds(4), "rolled back after \(rolledBackAfter)")
        let afterRollback = try await step()
        #expect(afterRollback.header("x-shadowgate-served-by") == "legacy")
        #expect(afterRollback.bodyString.contains("legacy-2024"))

        // 3. Both kinds of decision are in the audit trail with their metrics and the learner's version.
        let events = try await query(database, """
            SELECT action, to_mode, to_percent, actor LIKE 'controller:%', learner_version,
                   (metrics->>'learner_accuracy')::float8 > (metrics->>'legacy_accuracy')::float8,
                   (metrics->>'learner_error_rate')::float8, metrics->>'outcome', jsonb_array_length(metrics->'gates')
            FROM shadowgate.rollout_events WHERE route = 'm' ORDER BY id
            """)
        #expect(events.map { [$0[0], $0[1], $0[2]] } == [
            ["seed", "shadow", "0"], ["advance", "canary", "1"], ["advance", "canary", "5"], ["advance", "canary", "25"],
            ["advance", "canary", "50"], ["advance", "promoted", "100"], ["auto_rollback", "shadow", "0"],
        ])
        for advance in events.dropFirst().dropLast() {
            #expect(advance[3] == "t")
            #expect(advance[4]?.hasPrefix("river-") == true)
            #expect(advance[5] == "t", "an advance whose learner was not more accurate: \(advance)")
            #expect(advance[7] == "pass")
            #expect(advance[8] == "3")
        }
        let rollback = events.last ?? []
        #expect(rollback[3] == "t")
        #expect((rollback[6].flatMap(Double.init) ?? 0) > 0.05)
        #expect(rollback[7] == "fail")
        let status = try await rolloutStatus(database)
        #expect(status.contains("route 'm': shadow"))
        #expect(status.contains("auto_rollback"))

        // Operators see the gates, their bounds and the leadership in /metrics. (The evidence
        // restarts at the rollback, so the error gate reads "fail" again once the learner's
        // garbage in shadow has settled in PostgreSQL — a second or two — not at once as the old
        // window rule did; keep the stream going until it does, 10 s at most.)
        var metrics = try await client.send(.GET, "/metrics").bodyString
        let failingGate = #"shadowgate_gate_passing{route="m",gate="learner_error_rate_max"} 0"#
        let exportDeadline = ContinuousClock.now + .seconds(10)
        while !metrics.contains(failingGate), ContinuousClock.now < exportDeadline {
            for _ in 0..<5 { _ = try await step() }
            metrics = try await client.send(.GET, "/metrics").bodyString
        }
        for line in [#"shadowgate_controller_leader 1"#, #"shadowgate_gate_threshold{route="m",gate="learner_error_rate_max"} 0.05"#,
                     #"shadowgate_gate_passing{route="m",gate="learner_error_rate_max"} 0"#, #"shadowgate_route_mode{route="m",mode="shadow"} 1"#,
                     #"shadowgate_rollout_decisions_total{route="m",decision="rollback"} 1"#] {
            #expect(metrics.contains(line), "missing \(line)")
        }
        #expect(metrics.contains(#"shadowgate_gate_value{route="m",gate="learner_error_rate_max"}"#))

        await client.close()
        #expect(try await gateway.stopped() == 0)
        await legacy.stop()
        await learner.stop()

        // 4. The HTML report of this very rollout: charts, compare()'s numbers, every decision.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sg-scenario-\(UUID().uuidString).html").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let render = try await BinaryRunner.run(["report", "--route", "m", "--since", "1h", "--format", "html", "--output", file,
                                           "--database-url", database])
        #expect(render.status == 0, "\(render.stderr)")
        let html = try String(contentsOfFile: file, encoding: .utf8)
        for chart in ["chart-accuracy", "chart-agreement", "chart-distribution", "chart-latency", "chart-canary"] {
            #expect(html.contains("<svg id=\"\(chart)\" class=\"sg-chart"), "no \(chart)")
        }
        let compare = try await query(database, "SELECT pairs, labelled_pairs, legacy_accuracy, learner_accuracy, learner_error_rate FROM shadowgate.compare('m', '1 hour')")
        let shown = HTMLReportEndToEndTests.exactValues(html)
        for (index, column) in ["pairs", "labelled_pairs", "legacy_accuracy", "learner_accuracy", "learner_error_rate"].enumerated() {
            let expected = compare.first?[index].flatMap(Double.init)
            #expect(shown[column]?.first.flatMap(Double.init) == expected, "\(column): page \(shown[column] ?? []), compare() \(String(describing: expected))")
        }
        let eventIDs = try await query(database, "SELECT id, action FROM shadowgate.rollout_events WHERE route = 'm' ORDER BY id")
        #expect(eventIDs.count == 7)
        for row in eventIDs {
            #expect(html.contains("<tr data-event-id=\"\(row[0]!)\" data-action=\"\(row[1]!)\">"), "event \(row[0]!) \(row[1]!)")
        }
        let canary = html.components(separatedBy: "<svg id=\"chart-canary\"").last?.components(separatedBy: "</svg>").first ?? ""
        let steps = canary.components(separatedBy: "class=\"change\" data-value=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(steps == ["0.0", "1.0", "5.0", "25.0", "50.0", "100.0", "0.0"])
    }

    @Test("with too few labels in the window the controller holds, and rollout status says so")
    func inconclusiveHolds() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.1]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[0.1],"model_version":"river-0"}"#))
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, routeExtra: Self.promotion)
        defer { _ = gateway.stop() }
        let client = try await TestHTTPClient(port: gateway.port)
        // Plenty of pairs, no labels; then wait a few evaluations.
        for _ in 0..<60 {
            _ = try await client.send(.POST, "/v1/models/m:predict", body: #"{"instances":[[0.3]]}"#)
        }
        let evaluated = try await eventually(within: 10) {
            try await query(gateway.database, "SELECT outcome FROM shadowgate.rollout_state WHERE route = 'm' AND (metrics->>'pairs')::int >= 30")
                .first?.first == "inconclusive"
        }
        #expect(evaluated != nil)
        let status = try await rolloutStatus(gateway.database)
        #expect(status.contains("route 'm': shadow"))
        #expect(status.contains("INCONCLUSIVE → hold"))
        #expect(status.contains("only 0 labelled pairs in the evidence so far (min_labels 20)"))
        #expect(status.contains("accuracy_delta_min"))
        let changes = try await query(gateway.database, "SELECT count(*) FROM shadowgate.rollout_events WHERE action <> 'seed'")
        #expect(changes == [["0"]])
        await client.close()
        #expect(try await gateway.stopped() == 0)
        await legacy.stop()
        await learner.stop()
    }
}

/// `shadowgate rollout status m` against a database, as its text.
func rolloutStatus(_ database: String, route: String = "m") async throws -> String {
    let output = try await BinaryRunner.run(["rollout", "status", route, "--database-url", database])
    return output.stdout + output.stderr
}
