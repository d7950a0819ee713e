import Foundation
import LibPQ
import ShadowGatePairLog
import ShadowGateTesting
import Synchronization
import Testing

/// Labels accepted at once and delivered from PostgreSQL to a counting learner: at volume, through
/// a learner outage, through a PostgreSQL outage, before and right after their predictions, from
/// plain SQL and `labels import`, and with two replicas on one database.
@Suite("Label delivery")
struct LabelDeliveryTests {
    /// Short waits for tests (the defaults are for production): batches fill for 20 ms, retries
    /// back off from 50 ms to at most 500 ms.
    static func feedbackYAML(batchSize: Int = 500, waitForPrediction: String = "1h", body: String = "items") -> String {
        """
        feedback:
          batch_size: \(batchSize)
          max_wait: 20ms
          retry_initial: 50ms
          retry_max: 500ms
          timeout: 2s
          wait_for_prediction: \(waitForPrediction)
          body: \(body)
        """
    }

    /// `count` logged pairs `prefix0…` of route `route`, written with SQL (the tests are about
    /// labels, not about how fast predictions can be made); features are `[[i, 1]]`.
    static func insertPairs(_ database: String, prefix: String, count: Int, route: String = "m") throws {
        _ = try query(database, """
            INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome, features)
            SELECT $1 || i, $2, now() - interval '1 second', 'legacy', 'shadow', 'ok', 'ok', jsonb_build_array(jsonb_build_array(i, 1))
            FROM generate_series(0, $3::int - 1) i
            """, [prefix, route, String(count)])
    }

    /// Posts one label per id (label = i % 2) in batches of `batch` from `clients` connections, as
    /// fast as they are answered; returns the ids whose batch was answered 200.
    static func postLabels(port: Int, ids: [String], clients: Int = 4, batch: Int = 100) async throws -> [String] {
        let batches = stride(from: 0, to: ids.count, by: batch).map { Array(ids[$0..<min(ids.count, $0 + batch)]) }
        let accepted = AnsweredIDs()
        let next = BatchCursor()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    let client = try await TestHTTPClient(port: port)
                    while true {
                        let i = next.take()
                        guard i < batches.count else { break }
                        let body = "[" + batches[i].enumerated().map { #"{"request_id":"\#($0.element)","label":\#($0.offset % 2)}"# }
                            .joined(separator: ",") + "]"
                        let response = try await client.send(.POST, "/v1/feedback", body: body)
                        if response.status == 200 { batches[i].forEach(accepted.add) }
                    }
                    await client.close()
                }
            }
            try await group.waitForAll()
        }
        return accepted.all
    }

    static func metric(_ port: Int, _ name: String) async throws -> Double? {
        let client = try await TestHTTPClient(port: port)
        defer { Task { await client.close() } }
        let text = try await client.send(.GET, "/metrics").bodyString
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test("50,000 labels posted as fast as possible (batches of 100, 4 clients) all reach the learner")
    func fiftyThousandLabels() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let learner = try await CountingLearnerStub()
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, topExtra: Self.feedbackYAML())
        defer { _ = gateway.stop() }
        let ids = (0..<50_000).map { "burst\($0)" }
        try Self.insertPairs(gateway.database, prefix: "burst", count: ids.count)

        let accepted = try await Self.postLabels(port: gateway.port, ids: ids)
        #expect(accepted.count == ids.count)
        let all = try await eventually(within: 60) { learner.distinct >= ids.count }
        #expect(all != nil, "learner has \(learner.distinct) of \(ids.count)")
        #expect(learner.requestIDs == Set(ids))
        print("label delivery: 50,000 labels, \(learner.posts) POSTs, \(learner.duplicates) duplicates")
        let status = try await query(gateway.database, "SELECT delivered, pending, waiting FROM shadowgate.label_delivery_status")
        #expect(status.first?[0] == "\(ids.count)")
        #expect(status.first?[1] == "0" && status.first?[2] == "0")
        await legacy.stop()
        await learner.stop()
    }

    @Test("the learner down for 20 s during a burst: every label is delivered after it returns")
    func learnerDownDuringBurst() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let learner = try await CountingLearnerStub()
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, topExtra: Self.feedbackYAML())
        defer { _ = gateway.stop() }
        let ids = (0..<10_000).map { "down\($0)" }
        try Self.insertPairs(gateway.database, prefix: "down", count: ids.count)

        var accepted = try await Self.postLabels(port: gateway.port, ids: Array(ids[..<2_000]))
        #expect(try await eventually(within: 20) { learner.distinct > 0 } != nil)
        await learner.goDown()
        let downAt = ContinuousClock.now
        accepted += try await Self.postLabels(port: gateway.port, ids: Array(ids[2_000...]))
        #expect(accepted.count == ids.count)
        try await Task.sleep(until: downAt + .seconds(20))
        let before = learner.distinct
        #expect(before < ids.count, "everything arrived before the outage; the test proves nothing")
        let retries = try await Self.metric(gateway.port, "shadowgate_feedback_delivery_retries_total")
        #expect((retries ?? 0) > 0)
        try await learner.comeBack()
        let all = try await eventually(within: 30) { learner.distinct >= ids.count }
        #expect(all != nil, "learner has \(learner.distinct) of \(ids.count) after coming back")
        #expect(learner.requestIDs == Set(ids))
        print("label delivery after a 20 s learner outage: \(before) before, all \(ids.count) after, \(learner.duplicates) duplicates")
        await legacy.stop()
        await learner.stop()
    }

    @Test("two routes, one learner down: the other route's labels keep flowing; the down one catches up, in order, when it returns")
    func oneLearnerDownDoesNotHoldUpAnotherRoute() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let up = try await CountingLearnerStub()
        let down = try await CountingLearnerStub()
        await down.goDown()
        let second = "  - name: n\n    match: [\"/v1/models/n:predict\"]\n    protocol: kserve-v1\n"
            + "    legacy: { url: \"\(legacy.url)\" }\n    learner: { url: \"\(down.url)\" }"
        let gateway = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: up, routeExtra: second, topExtra: Self.feedbackYAML(batchSize: 100))
        defer { _ = gateway.stop() }
        let upIDs = (0..<3_000).map { "rm\($0)" }, downIDs = (0..<3_000).map { "rn\($0)" }
        try Self.insertPairs(gateway.database, prefix: "rm", count: upIDs.count, route: "m")
        try Self.insertPairs(gateway.database, prefix: "rn", count: downIDs.count, route: "n")
        // Interleaved: every batch carries labels of both routes.
        let ids = zip(upIDs, downIDs).flatMap { [$0, $1] }

        let accepted = try await Self.postLabels(port: gateway.port, ids: ids)
        #expect(accepted.count == ids.count)
        // n's learner stays down; m's labels all arrive meanwhile.
        let flowed = try await eventually(within: 60) { up.distinct >= upIDs.count }
        #expect(flowed != nil, "route m's learner has \(up.distinct) of \(upIDs.count) while n's is down")
        #expect(up.requestIDs == Set(upIDs))
        let parked = try await eventually(within: 30) {
            Int(try await query(gateway.database, "SELECT parked FROM shadowgate.label_delivery_status").first?[0] ?? "0") ?? 0 > 0
        }
        #expect(parked != nil, "n's labels should be parked while its learner is down")
        #expect(down.distinct == 0)

        try await down.comeBack()
        let caughtUp = try await eventually(within: 60) { down.distinct >= downIDs.count }
        #expect(caughtUp != nil, "route n's learner has \(down.distinct) of \(downIDs.count) after coming back")
        #expect(down.requestIDs == Set(downIDs))
        // In arrival order: the first delivery of each label follows the delivery order (txid, seq).
        let order = try await query(gateway.database, "SELECT request_id FROM shadowgate.labels WHERE request_id LIKE 'rn%' ORDER BY txid, seq").map { $0[0] ?? "" }
        var seen = Set<String>()
        let firsts = down.items.map(\.requestID).filter { seen.insert($0).inserted }
        #expect(firsts == order, "route n's labels arrived out of order")
        #expect(try await eventually(within: 10) {
            try await query(gateway.database, "SELECT parked, pending FROM shadowgate.label_delivery_status").first == ["0", "0"]
        } != nil)
        print("two routes, one learner down: \(up.distinct) delivered meanwhile, \(down.distinct) after it came back, \(down.duplicates) duplicates")
        await legacy.stop()
        await up.stop()
        await down.stop()
    }

    @Test("PostgreSQL stopped for 10 s while labels arrive: none is lost")
    func postgresStoppedWhileLabelsArrive() async throws {
        let dir = NSTemporaryDirectory() + "sg-labels-pg-\(UUID().uuidString)"
        let pg = try EmbeddedPostgres(dataDirectory: dir, durable: false)
        defer {
            try? pg.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let database = try await onThread { try pg.start() }
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let learner = try await CountingLearnerStub()
        let gateway = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: learner, database: database, topExtra: Self.feedbackYAML())
        defer { _ = gateway.stop() }
        let ids = (0..<6_000).map { "pgdown\($0)" }
        try Self.insertPairs(database, prefix: "pgdown", count: ids.count)

        // 200 labels every 100 ms for 14 s; PostgreSQL is down from 2 s to 12 s.
        let posting = Task {
            var accepted: [String] = []
            for start in stride(from: 0, to: ids.count, by: 200) {
                let tick = ContinuousClock.now
                accepted += try await Self.postLabels(port: gateway.port, ids: Array(ids[start..<min(ids.count, start + 200)]), clients: 2)
                try await Task.sleep(until: tick + .milliseconds(100))
            }
            return accepted
        }
        try await Task.sleep(for: .seconds(2))
        try await onThread { try pg.stop() }
        try await Task.sleep(for: .seconds(10))
        try await onThread { _ = try pg.start() }
        let accepted = try await posting.value
        #expect(accepted.count == ids.count, "labels refused while PostgreSQL was down: \(ids.count - accepted.count)")
        let all = try await eventually(within: 45) { learner.distinct >= ids.count }
        #expect(all != nil, "learner has \(learner.distinct) of \(ids.count)")
        #expect(learner.requestIDs == Set(ids))
        let stored = try await query(database, "SELECT count(*) FROM shadowgate.labels WHERE request_id LIKE 'pgdown%'")
        #expect(stored.first?.first == "\(ids.count)")
        print("label delivery through a 10 s PostgreSQL outage: \(ids.count) labels, \(learner.duplicates) duplicates")
        await legacy.stop()
        await learner.stop()
    }

    @Test("a label posted right after its answer, one that arrives 8 s before its prediction, and one from plain SQL are delivered; one never matched shows in labels_unmatched")
    func labelsAroundTheirPrediction() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        // A second replica (not delivering) whose legacy model takes 8 s: the pair of a request sent
        // through it is written 8 s after the label that the test posts meanwhile (8 s, not 5: the
        // label must still be waiting when checked, also on a loaded machine).
        let slowLegacy = try await UpstreamStub(.delayed(milliseconds: 8_000, then: .json(#"{"predictions":[0.2]}"#)))
        let learner = try await CountingLearnerStub()
        let gateway = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: learner, topExtra: Self.feedbackYAML(waitForPrediction: "11s"))
        defer { _ = gateway.stop() }
        let slow = try await GatewayProcess.start(
            route: "m", legacy: slowLegacy, learner: learner, legacyExtra: "timeout_ms: 11000", database: gateway.database,
            topExtra: Self.feedbackYAML(waitForPrediction: "11s") + "\n  deliver: false")
        defer { _ = slow.stop() }
        let client = try await TestHTTPClient(port: gateway.port)

        // 0 ms after the answer.
        let answer = try await client.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", "now")], body: #"{"instances":[[3,4]]}"#)
        #expect(answer.status == 200)
        let label = try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"now","label":1}"#)
        #expect(label.status == 200)
        #expect(label.bodyString == "{\"stored\":1}\n")

        // 8 s before the prediction is written.
        let early = Task {
            let c = try await TestHTTPClient(port: slow.port)
            let r = try await c.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", "early")], body: #"{"instances":[[5,6]]}"#)
            await c.close()
            return r.status
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"early","label":"yes"}"#).status == 200)
        let waiting = try await eventually(within: 6) {
            try await query(gateway.database, "SELECT request_id FROM shadowgate.label_waiting WHERE request_id = 'early'").count == 1
        }
        #expect(waiting != nil, "the early label should wait for its prediction")
        #expect(!learner.requestIDs.contains("early"))
        // Never predicted.
        #expect(try await client.send(.POST, "/v1/feedback", body: #"{"request_id":"never","label":0}"#).status == 200)
        #expect(try await eventually(within: 10) { learner.requestIDs.contains("now") } != nil)
        // Plain SQL replaces the label of a logged pair: delivered again, with its new value.
        _ = try await query(gateway.database, """
            INSERT INTO shadowgate.labels (request_id, label) VALUES ('now', '0.5')
            ON CONFLICT (request_id, row_index) DO UPDATE SET label = EXCLUDED.label, label_value = NULL
            """)
        #expect(try await eventually(within: 10) { learner.items.contains { $0.requestID == "now" && $0.label == "0.5" } } != nil)
        let now = learner.items.filter { $0.requestID == "now" }
        #expect(now.map(\.label) == ["1", "0.5"])   // the replaced label is delivered again, in order
        #expect(now.first?.features == "[3,4]")

        #expect(try await early.value == 200)
        #expect(try await eventually(within: 10) { learner.requestIDs.contains("early") } != nil)
        #expect(learner.items.first { $0.requestID == "early" }?.features == "[5,6]")
        #expect(learner.items.first { $0.requestID == "early" }?.label == #""yes""#)

        #expect(try await eventually(within: 20) {
            try await query(gateway.database, "SELECT request_id FROM shadowgate.labels_unmatched").map { $0[0] } == ["never"]
        } != nil)
        #expect(try await Self.metric(gateway.port, "shadowgate_feedback_unmatched_total") == 1)
        #expect(!learner.requestIDs.contains("never"))
        #expect(learner.duplicates == 0)
        await client.close()
        await legacy.stop()
        await slowLegacy.stop()
        await learner.stop()
    }

    @Test("feedback.body open-inference with batch_size 1: one OIP request per label, the row's inputs plus a label input")
    func openInferenceOnePerPost() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let learner = try await CountingLearnerStub()
        let gateway = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: learner, topExtra: Self.feedbackYAML(batchSize: 1, body: "open-inference"))
        defer { _ = gateway.stop() }
        let client = try await TestHTTPClient(port: gateway.port)
        #expect(try await client.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", "o1")], body: #"{"instances":[[3,4],[5,6]]}"#).status == 200)
        let labels = try await client.send(.POST, "/v1/feedback", body: #"[{"request_id":"o1","index":1,"label":"yes"},{"request_id":"o1","label":0}]"#)
        #expect(labels.status == 200)
        await client.close()
        #expect(try await eventually(within: 10) { learner.distinct >= 2 } != nil)
        let items = learner.items.sorted { $0.index < $1.index }
        #expect(items.map(\.label) == ["0", #""yes""#])
        #expect(items.map(\.features) == [
            #"[{"data":[3,4],"datatype":"FP64","name":"features","shape":[1,2]}]"#,
            #"[{"data":[5,6],"datatype":"FP64","name":"features","shape":[1,2]}]"#,
        ])
        #expect(learner.posts == 2)
        #expect(Set(items.map(\.key)).count == 2 && items.allSatisfy { $0.key.hasPrefix("o1/\($0.index)/") })
        await legacy.stop()
        await learner.stop()
    }

    @Test("two replicas on one database deliver each label once; `labels import` labels are delivered too")
    func twoReplicasDeliverOnce() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let learner = try await CountingLearnerStub()
        let first = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, topExtra: Self.feedbackYAML(batchSize: 100))
        defer { _ = first.stop() }
        let second = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: learner, database: first.database, topExtra: Self.feedbackYAML(batchSize: 100))
        defer { _ = second.stop() }
        let ids = (0..<6_000).map { "two\($0)" }
        try Self.insertPairs(first.database, prefix: "two", count: ids.count)
        async let a = Self.postLabels(port: first.port, ids: Array(ids[..<3_000]), clients: 2)
        async let b = Self.postLabels(port: second.port, ids: Array(ids[3_000...]), clients: 2)
        let accepted = try await a.count + b.count
        #expect(accepted == ids.count)

        // And 1,000 more from a CSV file through `shadowgate labels import`.
        let imported = (0..<1_000).map { "imp\($0)" }
        try Self.insertPairs(first.database, prefix: "imp", count: imported.count)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString).csv").path
        try ("request_id,index,label\n" + imported.map { "\($0),0,1" }.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let run = try await BinaryRunner.run(["labels", "import", file, "--database-url", first.database])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("imported 1000 labels"))

        let all = try await eventually(within: 60) { learner.distinct >= ids.count + imported.count }
        #expect(all != nil, "learner has \(learner.distinct) of \(ids.count + imported.count)")
        #expect(learner.requestIDs == Set(ids + imported))
        #expect(learner.duplicates == 0)
        let leaders = try await [Self.metric(first.port, "shadowgate_feedback_deliverer_leader"),
                                 Self.metric(second.port, "shadowgate_feedback_deliverer_leader")]
        #expect(leaders.compactMap { $0 }.sorted() == [0, 1])
        print("two replicas: \(ids.count + imported.count) labels, \(learner.duplicates) duplicates")
        await legacy.stop()
        await learner.stop()
    }
}

/// Hands out batch numbers to the posting clients.
final class BatchCursor: Sendable {
    private let next = Mutex(0)
    func take() -> Int { next.withLock { n in defer { n += 1 }; return n } }
}
