import Foundation
import ShadowGateTesting
import Synchronization
import Testing

/// A learner that first answers the truth and then, on command, the opposite of it.
final class FlippingLearner: Sendable {
    private let flipped = Mutex(false)
    func flip() { flipped.withLock { $0 = true } }

    func answer(_ request: UpstreamStub.ReceivedRequest) -> (status: Int, body: String) {
        if request.uri == "/feedback" { return (200, #"{"learned":true}"#) }
        let x = LearningStub.feature(request.bodyString) ?? 0
        let right = LearningStub.label(x) == 1
        let says = flipped.withLock { $0 } ? !right : right
        return (200, #"{"predictions":[\#(says ? 0.9 : 0.1)],"model_version":"river-\#(flipped.withLock { $0 } ? "flipped" : "good")"}"#)
    }
}

@Suite("Evidence-based rollback with the real binary", .serialized)
struct EvidenceRollbackTests {
    static let promotion = """
            promotion:
              steps: [50, 100]
              window: 5s
              dwell: 1s
              evaluate_every: 1s
              min_pairs: 20
              min_labels: 20
              label_delay: 3s
              gates:
                accuracy_delta_min: 0
                learner_error_rate_max: 0.2
        """

    @Test("promoted on its bounds, then answering the opposite of the labels at ~5 requests/s: back in shadow within 30 s, with the evidence recorded")
    func rollsBackOnEvidence() async throws {
        let model = FlippingLearner()
        let legacy = try await UpstreamStub(.dynamic { request in
            (200, LearningStub.legacyAnswer(LearningStub.feature(request.bodyString) ?? 0))
        })
        let learner = try await UpstreamStub(.dynamic { model.answer($0) })
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, routeExtra: Self.promotion)
        defer { _ = gateway.stop() }
        let database = gateway.database
        let client = try await TestHTTPClient(port: gateway.port)
        var next = 0
        var sent: [(id: String, x: Double)] = []
        let start = ContinuousClock.now
        /// One request and its label, paced at 5 labelled requests per second.
        func step() async throws {
            let x = (Double(next) * 0.6180339887).truncatingRemainder(dividingBy: 1)
            next += 1
            let response = try await client.send(.POST, "/v1/models/m:predict", body: #"{"instances":[[\#(x)]]}"#)
            sent.append((response.header("x-request-id") ?? "", x))
            // The label of the request 5 back (~1 s): its pair is logged by then (feedback for a
            // pair not yet logged waits for a retry).
            if sent.count > 5 {
                let (id, labelled) = sent[sent.count - 6]
                _ = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"\#(id)","label":\#(LearningStub.label(labelled))}"#)
            }
            let slot = start + .milliseconds(200 * Int64(next))
            if slot > ContinuousClock.now { try await Task.sleep(until: slot) }
        }
        func mode() async throws -> String? { try await query(database, "SELECT mode FROM shadowgate.flags WHERE route = 'm'").first?.first ?? nil }

        let promoteDeadline = ContinuousClock.now + .seconds(90)
        while try await mode() != "promoted", ContinuousClock.now < promoteDeadline { try await step() }
        let promotedStatus = try await rolloutStatus(database)
        #expect(try await mode() == "promoted", "status:\n\(promotedStatus)")

        model.flip()
        let flippedAt = ContinuousClock.now
        let rollbackDeadline = flippedAt + .seconds(30)
        while try await mode() != "shadow", ContinuousClock.now < rollbackDeadline { try await step() }
        let after = ContinuousClock.now - flippedAt
        let rolledBackStatus = try await rolloutStatus(database)
        #expect(try await mode() == "shadow", "not rolled back within 30 s; status:\n\(rolledBackStatus)")
        #expect(after < .seconds(30))

        let advances = try await query(database, """
            SELECT (g->>'lower')::float8, (g->>'upper')::float8, (g->>'evidence')::float8, (g->>'alpha')::float8, g->>'outcome'
            FROM shadowgate.rollout_events e, jsonb_array_elements(e.metrics->'gates') g
            WHERE e.route = 'm' AND e.action = 'advance' AND g->>'gate' = 'accuracy_delta_min' ORDER BY e.id
            """)
        #expect(advances.count == 2)
        for row in advances {
            // Every advance was made on a lower bound at or above 0 at alpha 0.025 (two evidence gates).
            #expect((row[0].flatMap(Double.init) ?? -1) >= 0, "\(row)")
            #expect((row[2].flatMap(Double.init) ?? 0) >= 20)
            #expect(row[3] == "0.025" && row[4] == "pass")
        }
        let rollback = try await query(database, """
            SELECT e.reason, (e.metrics->'evidence'->>'labelled')::float8, (e.metrics->'evidence'->>'legacy_only_right')::float8,
                   e.metrics->'evidence'->>'last_learner_version', e.metrics->'evidence'->'detectors' IS NOT NULL,
                   (SELECT count(*) FROM jsonb_array_elements(e.metrics->'gates') g WHERE g ? 'lower' AND g ? 'upper')
            FROM shadowgate.rollout_events e WHERE e.route = 'm' ORDER BY e.id DESC LIMIT 1
            """).first ?? []
        #expect(rollback.count == 6)
        #expect(rollback[0]?.contains("learner version") == true, "\(String(describing: rollback[0]))")
        #expect((rollback[1].flatMap(Double.init) ?? 0) > 0)
        #expect((rollback[2].flatMap(Double.init) ?? 0) > 0)
        #expect(rollback[3] == "river-flipped")
        #expect(rollback[4] == "t" && rollback[5] == "2")
        let action = try await query(database, "SELECT action FROM shadowgate.rollout_events WHERE route = 'm' ORDER BY id DESC LIMIT 1").first?.first
        #expect(action == "auto_rollback")
        let status = try await rolloutStatus(database)
        #expect(status.contains("confidence interval"))
        #expect(status.contains("evidence "))
        let metrics = try await client.send(.GET, "/metrics").bodyString
        #expect(metrics.contains(#"shadowgate_gate_lower{route="m",gate="accuracy_delta_min"}"#))
        #expect(metrics.contains(#"shadowgate_gate_upper{route="m",gate="accuracy_delta_min"}"#))
        #expect(metrics.contains(#"shadowgate_gate_evidence{route="m",gate="accuracy_delta_min"}"#))
        await client.close()
        #expect(try await gateway.stopped() == 0)
        await legacy.stop()
        await learner.stop()
    }
}
