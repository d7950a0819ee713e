import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// `POST /v1/feedback` as a user drives it: labels land in `shadowgate.labels` and reach the learner.
@Suite("Feedback end to end")
struct FeedbackEndToEndTests {
    @Test("labels are stored per row and forwarded with that row's features; unknown ids and bad bodies get clear errors")
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
        let three = try await client.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", "rb")], body: #"{"instances":[[7,1],[7,2],[7,3]]}"#)
        #expect(three.status == 200)

        // One label right away (its pair may still be on its way to PostgreSQL), then a batch.
        let single = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"r0","label":1}"#)
        #expect(single.status == 200)
        #expect(single.bodyString.contains(#""stored":1"#))
        let batch = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"r1","label":"churned"},{"request_id":"r2","label":0.5,"index":1},{"request_id":"nope","label":1}]"#)
        #expect(batch.status == 200)
        #expect(batch.bodyString.contains(#""stored":2"#))
        #expect(batch.bodyString.contains(#""unknown":["nope"]"#))

        // Rows 0 and 2 of one batch request: two labels, each forwarded with its own row.
        let rowsOfBatch = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"rb","index":0,"label":0},{"request_id":"rb","index":2,"label":1}]"#)
        #expect(rowsOfBatch.status == 200)
        #expect(rowsOfBatch.bodyString.contains(#""stored":2"#))

        let unknown = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"missing","label":1}"#)
        #expect(unknown.status == 404)
        #expect(unknown.bodyString.contains("missing"))
        let bad = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"r3"}]"#)
        #expect(bad.status == 400)
        #expect(bad.bodyString.contains("'label' must be a number, a string or a boolean"))
        let notJSON = try await client.send(.POST, "/v1/feedback", body: "label=1")
        #expect(notJSON.status == 400)
        await client.close()

        // The pair-log writer stores the labels after the answer (batched, within flush_ms).
        let conn = try PGConnection(connectionString: database)
        defer { conn.close() }
        let query = "SELECT request_id, row_index::text, route, label, label_value FROM shadowgate.labels ORDER BY 1, 2"
        let deadline = ContinuousClock.now + .seconds(10)
        var rows = try conn.execute(query).rows
        while rows.count < 5, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            rows = try conn.execute(query).rows
        }
        #expect(rows == [["r0", "0", "m", "1", "1"], ["r1", "0", "m", "churned", nil], ["r2", "1", "m", "0.5", "0.5"],
                         ["rb", "0", "m", "0", "0"], ["rb", "2", "m", "1", "1"]])

        // The learner got features + label for each stored label (forwarding happens after the answer).
        var learned: [UpstreamStub.ReceivedRequest] = []
        while ContinuousClock.now < deadline {
            learned = learner.requests.filter { $0.uri == "/learn" }
            if learned.count >= 5 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let bodies = learned.map { "\($0.header("x-request-id") ?? "") \($0.bodyString)" }.sorted()
        #expect(bodies == [
            #"r0 {"request_id":"r0","features":[[0, 1], [0, 2]],"label":1}"#,
            #"r1 {"request_id":"r1","features":[[1, 1], [1, 2]],"label":"churned"}"#,
            #"r2 {"request_id":"r2","features":[2,2],"label":0.5}"#,
            #"rb {"request_id":"rb","features":[7,1],"label":0}"#,
            #"rb {"request_id":"rb","features":[7,3],"label":1}"#,
        ])
        await legacy.stop()
        await learner.stop()
    }
}
