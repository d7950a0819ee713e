import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// `POST /v1/feedback` as a user drives it: labels land in `shadowgate.labels` and reach the learner
/// (delivered from PostgreSQL in batches, each item with its row's features).
@Suite("Feedback end to end")
struct FeedbackEndToEndTests {
    @Test("labels are stored per row and delivered with that row's features; ids not logged yet are taken; bad bodies get clear errors")
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
        // Issue 13: an id with no logged prediction is taken too (it may be logged later).
        #expect(batch.bodyString.contains(#""stored":3"#))

        // Rows 0 and 2 of one batch request: two labels, each forwarded with its own row.
        let rowsOfBatch = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"rb","index":0,"label":0},{"request_id":"rb","index":2,"label":1}]"#)
        #expect(rowsOfBatch.status == 200)
        #expect(rowsOfBatch.bodyString.contains(#""stored":2"#))

        // Issue 13: no more 404 for an unknown id; the label waits for its prediction.
        let unknown = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"missing","label":1}"#)
        #expect(unknown.status == 200)
        #expect(unknown.bodyString.contains(#""stored":1"#))
        let bad = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"r3"}]"#)
        #expect(bad.status == 400)
        #expect(bad.bodyString.contains("'label' must be a number, a string or a boolean"))
        let notJSON = try await client.send(.POST, "/v1/feedback", body: "label=1")
        #expect(notJSON.status == 400)
        await client.close()

        // The pair-log writer stores the labels after the answer (batched, within flush_ms).
        let conn = try PGConnection(connectionString: database)
        defer { conn.close() }
        // Issue 13: the route is no longer looked up when a label arrives (NULL; the pair has it).
        let query = "SELECT request_id, row_index::text, route, label, label_value FROM shadowgate.labels ORDER BY 1, 2"
        let deadline = ContinuousClock.now + .seconds(10)
        var rows = try conn.execute(query).rows
        while rows.count < 7, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            rows = try conn.execute(query).rows
        }
        #expect(rows == [["missing", "0", nil, "1", "1"], ["nope", "0", nil, "1", "1"],
                         ["r0", "0", nil, "1", "1"], ["r1", "0", nil, "churned", nil], ["r2", "1", nil, "0.5", "0.5"],
                         ["rb", "0", nil, "0", "0"], ["rb", "2", nil, "1", "1"]])

        // The learner got features + label for each label whose pair is logged, in batches
        // (`{"items": [...]}`) delivered from PostgreSQL. Issue 13: a label without `index` is row
        // 0's, so it gets row 0's features (was: the whole request's).
        var learned: [String] = []
        while ContinuousClock.now < deadline {
            learned = learner.requests.filter { $0.uri == "/learn" }.flatMap { request -> [String] in
                guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                      let items = body["items"] as? [[String: Any]] else { return ["unreadable: \(request.bodyString)"] }
                return items.map { item in
                    let features = (try? JSONSerialization.data(withJSONObject: item["features"] ?? NSNull(), options: [.fragmentsAllowed]))
                        .map { String(decoding: $0, as: UTF8.self) } ?? "?"
                    let label = (try? JSONSerialization.data(withJSONObject: item["label"] ?? NSNull(), options: [.fragmentsAllowed]))
                        .map { String(decoding: $0, as: UTF8.self) } ?? "?"
                    return "\(item["request_id"] ?? "?") \(item["index"] ?? "?") \(features) \(label)"
                }
            }.sorted()
            if learned.count >= 5 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(learned == [
            "r0 0 [0,1] 1",
            #"r1 0 [1,1] "churned""#,
            "r2 1 [2,2] 0.5",
            "rb 0 [7,1] 0",
            "rb 2 [7,3] 1",
        ])
        await legacy.stop()
        await learner.stop()
    }
}
