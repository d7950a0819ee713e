import Foundation
import LibPQ
import ShadowGatePairLog
import ShadowGateTesting
import Synchronization
import Testing

/// The whole product, as a user runs it: the `shadowgate` binary, real upstreams, real PostgreSQL.
@Suite("Pair log end to end")
struct PairLogEndToEndTests {
    @Test("N proxied requests give exactly N rows with the right fields; SIGTERM under traffic loses none")
    func requestsBecomeRowsAndSigtermLosesNone() async throws {
        let legacy = try await UpstreamStub(.json(#"{"model_version":"v7","predictions":[0.25]}"#))
        let learner = try await UpstreamStub(.delayed(milliseconds: 20, then: .json(#"{"predictions":["spam"]}"#)))
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, flushMillis: 20)
        let running = gateway.running
        let port = gateway.port
        let database = gateway.database

        // Phase 1: a known number of requests, then the exact rows.
        let client = try await TestHTTPClient(port: port)
        for i in 0..<50 {
            let response = try await client.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", "seq-\(i)")], body: #"{"instances":[[\#(i),"a\tb"]]}"#)
            #expect(response.status == 200)
        }
        await client.close()
        let rows = try await eventuallyRows(database, atLeast: 50)
        #expect(rows == 50)

        // What operators watch, in Prometheus text format.
        let scraper = try await TestHTTPClient(port: port)
        let metrics = try await scraper.send(.GET, "/metrics").bodyString
        await scraper.close()
        #expect(metrics.contains(#"shadowgate_requests_total{route="m",served_by="legacy",status="200"} 50"#))
        #expect(metrics.contains(#"shadowgate_shadow_requests_total{route="m",model="learner",outcome="ok"} 50"#))
        #expect(metrics.contains("shadowgate_upstream_latency_seconds_bucket"))
        #expect(metrics.contains("shadowgate_pairs_written_total"))
        let conn = try PGConnection(connectionString: database)
        let row = try conn.execute("""
            SELECT route, served_by, mode, legacy_status, learner_status, legacy_score, learner_label, legacy_version,
                   legacy_outcome, learner_outcome, features::text, learner_latency_us >= 20000
            FROM shadowgate.pairs WHERE request_id = $1
            """, ["seq-7"]).rows.first
        #expect(row == ["m", "legacy", "shadow", "200", "200", "0.25", "spam", "v7", "ok", "ok", #"[[7, "a\tb"]]"#, "t"])

        // Phase 2: four clients send while SIGTERM arrives; every answered request is a row, exactly once.
        let answered = AnsweredIDs()
        let pid = running.process.processIdentifier
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    guard let client = try? await TestHTTPClient(port: port) else { return }
                    for i in 0..<500 {
                        let id = "load-\(worker)-\(i)"
                        guard let response = try? await client.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", id)], body: #"{"instances":[[1]]}"#),
                              response.status == 200 else { break }
                        answered.add(id)
                    }
                    await client.close()
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            kill(pid, SIGTERM)
            try await group.waitForAll()
        }
        let output = try await running.finished()
        #expect(output.status == 0)
        let ids = answered.all
        #expect(ids.count > 0)
        let stored = try conn.execute("SELECT request_id FROM shadowgate.pairs WHERE request_id LIKE 'load-%'").rows.compactMap { $0[0] }
        #expect(stored.count == Set(stored).count)
        #expect(Set(stored) == Set(ids))
        conn.close()
        await legacy.stop()
        await learner.stop()
    }

    private func eventuallyRows(_ database: String, atLeast count: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(20)
        var rows = 0
        while ContinuousClock.now < deadline {
            let conn = try PGConnection(connectionString: database)
            rows = Int(try conn.execute("SELECT count(*) FROM shadowgate.pairs").rows.first?.first??.description ?? "0") ?? 0
            conn.close()
            if rows >= count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return rows
    }
}

/// Request ids that got a 200, from several client tasks.
final class AnsweredIDs: Sendable {
    private let ids = Mutex<[String]>([])
    func add(_ id: String) { ids.withLock { $0.append(id) } }
    var all: [String] { ids.withLock { $0 } }
}

func writeConfig(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sg-\(UUID().uuidString).yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The binary's tests use the shared ``TestPostgres`` databases.
typealias CLITestDatabase = TestPostgres
