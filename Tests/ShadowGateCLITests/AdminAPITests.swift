import Foundation
import LibPQ
import NIOHTTP1
import ShadowGateTesting
import Testing

/// The admin API as an operator drives it: a bearer token guards every call, bad calls are refused
/// with a JSON error and change nothing, and a good change is audited and applied.
@Suite("Admin API")
struct AdminAPITests {
    @Test("calls without a token, with a wrong token, for an unknown route or with a percent of 140 are refused and change nothing")
    func refusals() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.1]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[0.9]}"#))
        let adminPort = try freePort()
        let gateway = try await GatewayProcess.start(
            route: "m", legacy: legacy, learner: learner, adminPort: adminPort,
            environment: ["SHADOWGATE_ADMIN_TOKEN": "t0ken-for-tests"])
        defer { _ = gateway.stop() }
        try await waitUntilListening(port: adminPort, anyAnswer: true)
        let admin = try await TestHTTPClient(port: adminPort)
        let good = [("authorization", "Bearer t0ken-for-tests")]
        let change = #"{"mode":"canary","canary_percent":10,"reason":"try the learner"}"#
        func state() async throws -> [[String?]] {
            try await query(gateway.database, "SELECT mode, canary_percent, revision, (SELECT count(*) FROM shadowgate.rollout_events) FROM shadowgate.flags")
        }
        let before = try await state()
        #expect(before == [["shadow", "0", "1", "1"]])

        let cases: [(String, HTTPMethod, String, [(String, String)], String?, Int, String)] = [
            ("no token", .PUT, "/admin/routes/m", [], change, 401, "bearer token is required"),
            ("no token, read", .GET, "/admin/routes", [], nil, 401, "bearer token is required"),
            ("wrong token", .PUT, "/admin/routes/m", [("authorization", "Bearer t0ken-for-test")], change, 401, "bearer token is required"),
            ("not bearer", .PUT, "/admin/routes/m", [("authorization", "Basic dDBrZW4tZm9yLXRlc3Rz")], change, 401, "bearer token is required"),
            ("unknown route", .PUT, "/admin/routes/nope", good, change, 404, "unknown route 'nope'"),
            ("percent 140", .PUT, "/admin/routes/m", good, #"{"mode":"canary","canary_percent":140,"reason":"too much"}"#, 422,
             "canary_percent must be between 0 and 100; got 140 %"),
            ("percent as text", .PUT, "/admin/routes/m", good, #"{"mode":"canary","canary_percent":"10","reason":"x"}"#, 422,
             "canary_percent must be a number"),
            ("unknown mode", .PUT, "/admin/routes/m", good, #"{"mode":"yolo","reason":"x"}"#, 422, "mode must be one of"),
            ("no reason", .PUT, "/admin/routes/m", good, #"{"mode":"canary","canary_percent":10}"#, 422, "reason is required"),
            ("percent against mode", .PUT, "/admin/routes/m", good, #"{"mode":"shadow","canary_percent":10,"reason":"x"}"#, 422,
             "does not fit mode shadow"),
            ("not JSON", .PUT, "/admin/routes/m", good, "mode=canary", 400, "not valid JSON"),
            ("unknown field", .PUT, "/admin/routes/m", good, #"{"mode":"canary","percent":10,"reason":"x"}"#, 400, "unknown field 'percent'"),
            ("wrong method", .DELETE, "/admin/routes/m", good, nil, 405, "answers GET, PUT"),
            ("unknown endpoint", .GET, "/admin/flags", good, nil, 404, "no admin endpoint"),
        ]
        for (name, method, path, headers, body, status, message) in cases {
            let response = try await admin.send(method, path, headers: headers, body: body ?? "")
            #expect(response.status == status, "\(name): \(response.status) \(response.bodyString)")
            #expect(response.header("content-type") == "application/json", "\(name)")
            #expect(response.bodyString.contains(#"{"error":"#) && response.bodyString.contains(message), "\(name): \(response.bodyString)")
            #expect(try await state() == before, "\(name) changed something")
        }

        let list = try await admin.send(.GET, "/admin/routes", headers: good)
        #expect(list.status == 200)
        #expect(list.bodyString.contains(#""name":"m","mode":"shadow","canary_percent":0"#))

        let accepted = try await admin.send(.PUT, "/admin/routes/m", headers: good, body: change)
        #expect(accepted.status == 200, "\(accepted.bodyString)")
        #expect(accepted.bodyString.contains(#""mode":"canary","canary_percent":10"#))
        #expect(try await state() == [["canary", "10", "2", "2"]])
        let audit = try await query(gateway.database, "SELECT actor, action, reason, metrics ? 'pairs' FROM shadowgate.rollout_events ORDER BY id DESC LIMIT 1")
        #expect(audit == [["admin:127.0.0.1", "set", "try the learner", "t"]])
        let one = try await admin.send(.GET, "/admin/routes/m", headers: good)
        #expect(one.bodyString.contains(#""revision":2"#) && one.bodyString.contains(#""updated_by":"admin:127.0.0.1""#))

        await admin.close()
        #expect(try await gateway.stopped() == 0)
        await legacy.stop()
        await learner.stop()
    }

    @Test("serve refuses to start an admin listener without a token")
    func adminNeedsToken() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.1]}"#))
        let database = try await CLITestDatabase.fresh()
        let config = try writeConfig("""
            listen: 127.0.0.1:\(try freePort())
            admin: { listen: 127.0.0.1:\(try freePort()) }
            database: { url: "\(database)" }
            routes:
              - name: m
                match: ["/v1/models/m:predict"]
                protocol: kserve-v1
                legacy: { url: "\(legacy.url)" }
                learner: { url: "\(legacy.url)" }
            """)
        let output = try await BinaryRunner.run(
            ["serve", "--config", config, "--migrations", CLITestDatabase.migrationsDirectory], environment: ["SHADOWGATE_ADMIN_TOKEN": ""])
        #expect(output.status == 1)
        #expect(output.stderr.contains("admin.listen is set but SHADOWGATE_ADMIN_TOKEN is empty"))
        await legacy.stop()
    }
}
