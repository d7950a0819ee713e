import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// The two kinds of database connection with a real PgBouncer in transaction mode: the pair log
/// through the pooler (its outage spooled and replayed through it), flags and leadership direct;
/// and a control connection through the pooler refused at start-up, before any side effect.
@Suite("connection pooler", .serialized)
struct PoolerEndToEndTests {
    @Test("pairs through PgBouncer in transaction mode, control direct: every pair lands, an outage of the pooler included")
    func pairsThroughAPooler() async throws {
        let database = try await CLITestDatabase.fresh("pool")
        var bouncer = try await PgBouncer.start(target: database, mode: "transaction")
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.5]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[0.25]}"#))
        let gateway = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: learner, database: database,
            environment: ["SHADOWGATE_DATABASE__URL": bouncer.url, "SHADOWGATE_DATABASE__CONTROL_URL": database])
        func send(_ ids: Range<Int>) async throws {
            let client = try await TestHTTPClient(port: gateway.port)
            for i in ids {
                let response = try await client.send(.POST, "/v1/models/m:predict", headers: [("x-request-id", "pool-\(i)")], body: #"{"instances":[[1]]}"#)
                #expect(response.status == 200)
            }
            await client.close()
        }
        try await send(0..<40)
        #expect(try await eventuallyCount(database, atLeast: 40) == 40)
        // The pooler goes away: pairs are spooled; back on the same port, they are replayed through it
        // (the staging path, whose temporary table must not outlive a pooled transaction).
        try await bouncer.stopped()
        try await send(40..<70)
        try await Task.sleep(for: .seconds(1))
        bouncer = try await PgBouncer.start(target: database, mode: "transaction", port: bouncer.port)
        #expect(try await eventuallyCount(database, atLeast: 70) == 70)
        let scraper = try await TestHTTPClient(port: gateway.port)
        let metrics = try await scraper.send(.GET, "/metrics").bodyString
        await scraper.close()
        let spooled = metrics.split(separator: "\n").first { $0.hasPrefix("shadowgate_pairs_spooled_total ") }
        let replayed = metrics.split(separator: "\n").first { $0.hasPrefix("shadowgate_pairs_replayed_total ") }
        #expect(spooled != nil && spooled?.hasSuffix(" 0") == false, "the outage was spooled: \(spooled ?? "none")")
        #expect(spooled?.split(separator: " ").last == replayed?.split(separator: " ").last)
        #expect(try await gateway.stopped() == 0)
        try await bouncer.stopped()
        await legacy.stop()
        await learner.stop()
    }

    @Test("a control connection through a transaction pooler is refused with a sentence, before migrating")
    func controlThroughAPoolerRefused() async throws {
        let database = try await CLITestDatabase.fresh("pool")
        let bouncer = try await PgBouncer.start(target: database, mode: "transaction")
        defer { bouncer.stop() }
        let path = try writeConfig("""
            listen: 127.0.0.1:\(try freePort())
            database: { url: "\(bouncer.url)" }
            routes:
              - name: m
                match: ["/v1/models/m:predict"]
                protocol: kserve-v1
                mode: legacy
                legacy: { url: "http://127.0.0.1:9" }
            """)
        let output = try await BinaryRunner.run(["serve", "--config", path])
        #expect(output.status == 1)
        #expect(output.stderr.contains("cannot be used for flags and leadership"))
        #expect(output.stderr.contains("PgBouncer pool_mode=transaction"))
        #expect(!output.stderr.contains("postgresql://"), "no connection string in the sentence")
        let tables = try await query(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'shadowgate'")
        #expect(tables.first?.first == "0", "nothing migrated before the refusal")
    }

    private func eventuallyCount(_ database: String, atLeast count: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        var rows = 0
        while ContinuousClock.now < deadline {
            rows = Int(try await query(database, "SELECT count(*) FROM shadowgate.pairs WHERE request_id LIKE 'pool-%'").first?.first.flatMap { $0 } ?? "0") ?? 0
            if rows >= count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return rows
    }
}
