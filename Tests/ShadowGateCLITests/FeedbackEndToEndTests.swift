import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// `POST /v1/feedback` as a user drives it: labels land in `shadowgate.labels` and reach the learner.
@Suite("Feedback end to end")
struct FeedbackEndToEndTests {
    @Test("labels are stored and forwarded with the request's features; unknown ids and bad bodies get clear errors")
    func feedbackLoop() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let learner = try await UpstreamStub(.dynamic { request in
            request.uri == "/learn" ? (200, #"{"learned":true}"#) : (200, #"{"predictions":[0.9]}"#)
        })
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, learnerExtra: "feedback_path: /learn")
        defer { _ = gateway.stop() }
        let port = gateway.port
        let database = gateway.database
        let client = try await TestHTTPClient(port: port)
        for i in 0..<10 {
            let response = try await client.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", "r\(i)")], body: #"{"instances":[[\#(i),1],[\#(i),2]]}"#)
            #expect(response.status == 200)
        }

        // One label right away (its pair may still be on its way to PostgreSQL), then a batch.
        let single = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"r0","label":1}"#)
        #expect(single.status == 200)
        #expect(single.bodyString.contains(#""stored":1"#))
        let batch = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"r1","label":"churned"},{"request_id":"r2","label":0.5,"index":1},{"request_id":"nope","label":1}]"#)
        #expect(batch.status == 200)
        #expect(batch.bodyString.contains(#""stored":2"#))
        #expect(batch.bodyString.contains(#""unknown":["nope"]"#))

        let unknown = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"missing","label":1}"#)
        #expect(unknown.status == 404)
        #expect(unknown.bodyString.contains("missing"))
        let bad = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"r3"}]"#)
        #expect(bad.status == 400)
        #expect(bad.bodyString.contains("'label' must be a number, a string or a boolean"))
        let notJSON = try await client.send(.POST, "/v1/feedback", body: "label=1")
        #expect(notJSON.status == 400)
        await client.close()

        let conn = try PGConnection(connectionString: database)
        defer { conn.close() }
        let rows = try conn.execute("SELECT request_id, route, label, label_value FROM shadowgate.labels ORDER BY request_id").rows
        #expect(rows == [["r0", "m", "1", "1"], ["r1", "m", "churned", nil], ["r2", "m", "0.5", "0.5"]])

        // The learner got features + label for each stored label (forwarding happens after the answer).
        let deadline = ContinuousClock.now + .seconds(5)
        var learned: [UpstreamStub.ReceivedRequest] = []
        while ContinuousClock.now < deadline {
            learned = learner.requests.filter { $0.uri == "/learn" }
            if learned.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let bodies = Dictionary(uniqueKeysWithValues: learned.map { ($0.header("x-request-id") ?? "", $0.bodyString) })
        #expect(bodies.count == 3)
        #expect(bodies["r0"] == #"{"request_id":"r0","features":[[0, 1], [0, 2]],"label":1}"#)
        #expect(bodies["r1"] == #"{"request_id":"r1","features":[[1, 1], [1, 2]],"label":"churned"}"#)
        #expect(bodies["r2"] == #"{"request_id":"r2","features":[2,2],"label":0.5}"#)
        await legacy.stop()
        await learner.stop()
    }
}
