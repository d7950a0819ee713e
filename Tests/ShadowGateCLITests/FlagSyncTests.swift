import Foundation
import LibPQ
import ShadowGateRouting
import ShadowGateTesting
import Testing

/// Flags shared by every replica through PostgreSQL: CLI changes reach all gateways, sticky
/// assignment agrees across processes, and the controller lock moves when its holder dies.
@Suite("Flags across gateways", .serialized)
struct FlagSyncTests {
    @Test("a flag changed with the CLI is applied by two gateways within 1 s, and both give each key the same model")
    func cliChangeReachesBothGateways() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.1]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[0.9]}"#))
        let database = try await CLITestDatabase.fresh()
        let sticky = "    sticky_key: header:x-user-id"
        let a = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, database: database, routeExtra: sticky)
        defer { _ = a.stop() }
        let b = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, database: database, routeExtra: sticky)
        defer { _ = b.stop() }
        let clientA = try await TestHTTPClient(port: a.port)
        let clientB = try await TestHTTPClient(port: b.port)

        #expect(try await servedBy(clientA, route: "m", user: "u-0") == "legacy")
        // A key the learner gets at 50 %: its bucket says so, independently of the gateways.
        let learnerKey = (0..<1000).map { "u-\($0)" }.first { StickyBucket.isLearner(bucket: StickyBucket.bucket(for: $0), percent: 50) }!

        let set = try await BinaryRunner.run(["flags", "set", "m", "--mode", "canary", "--percent", "50", "--reason", "half and half",
                                        "--database-url", database])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("shadow → canary 50 %"))
        // Both gateways are asked at once: asked one after the other, the second answer's wait was
        // added to the measured time (a loaded parallel run measured 1.013 s that way).
        let applied = try await eventually(within: 5) {
            async let x = servedBy(clientA, route: "m", user: learnerKey)
            async let y = servedBy(clientB, route: "m", user: learnerKey)
            let (onA, onB) = try await (x, y)
            return onA == "learner" && onB == "learner"
        }
        #expect(applied != nil)
        #expect(applied.map { $0 <= .seconds(1) } ?? false, "applied after \(String(describing: applied))")

        var learnerShare = 0
        for i in 0..<200 {
            let key = "user-\(i)"
            let x = try await servedBy(clientA, route: "m", user: key)
            let y = try await servedBy(clientB, route: "m", user: key)
            #expect(x == y, "key \(key): \(x ?? "nil") on A, \(y ?? "nil") on B")
            let expected = StickyBucket.isLearner(bucket: StickyBucket.bucket(for: key), percent: 50) ? "learner" : "legacy"
            #expect(x == expected)
            if x == "learner" { learnerShare += 1 }
        }
        #expect((60...140).contains(learnerShare))

        let events = try await query(database, "SELECT actor, action, from_mode, to_mode, to_percent, reason, metrics IS NOT NULL FROM shadowgate.rollout_events ORDER BY id")
        #expect(events.count == 2)
        #expect(events.first?[1] == "seed")
        let change = events.last ?? []
        #expect(change[0]?.hasPrefix("cli:") == true)
        #expect(Array(change[1...]) == ["set", "shadow", "canary", "50", "half and half", "t"])

        await clientA.close()
        await clientB.close()
        #expect(try await a.stopped() == 0)
        #expect(try await b.stopped() == 0)
        await legacy.stop()
        await learner.stop()
    }

    @Test("a gateway whose flag connection is cut reconnects and still applies changes")
    func watcherReconnects() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.1]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[0.9]}"#))
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner)
        defer { _ = gateway.stop() }
        let client = try await TestHTTPClient(port: gateway.port)
        // Cut the watcher's session the way a database restart or a network blip would.
        let cut = try await query(gateway.database, """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE application_name = 'shadowgate-flags' AND datname = current_database()
            """)
        #expect(cut == [["1"]])
        let set = try await BinaryRunner.run(["promote", "m", "--reason", "after the cut", "--database-url", gateway.database])
        #expect(set.status == 0, "\(set.stderr)")
        let applied = try await eventually(within: 10) { try await servedBy(client, route: "m", user: "anyone") == "learner" }
        #expect(applied != nil)
        let reconnected = try await query(gateway.database, """
            SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shadowgate-flags' AND datname = current_database()
            """)
        #expect(reconnected == [["1"]])
        await client.close()
        #expect(try await gateway.stopped() == 0)
        await legacy.stop()
        await learner.stop()
    }

    @Test("killing the gateway that holds the controller lock hands control to the other")
    func controllerFailover() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.1]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[0.9]}"#))
        let database = try await CLITestDatabase.fresh()
        let promotion = """
                promotion:
                  window: 2s
                  dwell: 1s
                  evaluate_every: 200ms
                  min_pairs: 1000000
            """
        let a = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, database: database, routeExtra: promotion)
        defer { _ = a.stop() }
        let first = try await eventually(within: 10) { try controllerHolder(database) != nil }
        #expect(first != nil)
        let b = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, database: database, routeExtra: promotion)
        defer { _ = b.stop() }
        let holderBefore = try controllerHolder(database)
        #expect(holderBefore?.hasSuffix(":\(a.pid)") == true, "holder \(holderBefore ?? "none")")

        kill(a.pid, SIGKILL)
        _ = try await a.running.finished()
        let tookOver = try await eventually(within: 10) { try controllerHolder(database)?.hasSuffix(":\(b.pid)") == true }
        let holderAfter = try controllerHolder(database)
        #expect(tookOver != nil, "holder after the kill: \(holderAfter ?? "none")")
        // The survivor evaluates: its identity is on the route's latest evaluation.
        let evaluates = try await eventually(within: 5) {
            try await query(database, "SELECT controller FROM shadowgate.rollout_state WHERE route = 'm'").first?.first??.hasSuffix(":\(b.pid)") == true
        }
        #expect(evaluates != nil)
        #expect(try await b.stopped() == 0)
        let released = try await eventually(within: 5) { try controllerHolder(database) == nil }
        #expect(released != nil)
        await legacy.stop()
        await learner.stop()
    }
}
