import LibPQ
import NIOHTTP1
import ShadowGateConfig
import ShadowGateControl
import ShadowGateTesting
import Testing
@testable import ShadowGateAdmin

/// The admin API's behaviour without a socket: ``AdminAPI/handle(_:)`` called directly. Refusals
/// that are decided before any database work (401, 404, 400, 405, most 422s) run against a
/// database URL that cannot be reached, so they prove the refusal happens without one. The reads,
/// a good change and the refusals that need the current flags run against a real PostgreSQL.
@Suite("Admin API handler")
struct AdminAPIHandlerTests {
    static let token = "t0ken-for-tests"
    static let good = "Bearer \(token)"
    static let change = #"{"mode":"canary","canary_percent":10,"reason":"try the learner"}"#

    static func routes() throws -> [RouteConfig] {
        [
            RouteConfig(name: "m", match: ["/v2/models/m/infer"],
                        legacy: try UpstreamConfig(url: "http://127.0.0.1:9"), learner: try UpstreamConfig(url: "http://127.0.0.1:9")),
            RouteConfig(name: "solo", match: ["/v2/models/solo/infer"], mode: .legacy,
                        legacy: try UpstreamConfig(url: "http://127.0.0.1:9"), learner: nil),
    ]
    }

    /// The API over `database`, on a session nobody shuts down: for refusals that never query, so
    /// never start its thread.
    static func api(database url: String) throws -> AdminAPI {
        try api(session(url))
    }

    /// The API over a session the test shuts down (its thread lives from the first query until then).
    static func api(_ database: SerialDatabase) throws -> AdminAPI {
        AdminAPI(token: token, routes: try routes(), database: database)
    }

    /// The one place that names the blocking executor the API runs on.
    static func session(_ url: String) -> SerialDatabase {
        SerialDatabase(connectionString: url, applicationName: "admin-tests")
    }

    /// A database nobody listens on: any refusal that still answers proves it needed no database.
    static let unreachable = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"

    static func request(_ method: HTTPMethod, _ path: String, authorization: String? = good, body: String = "") -> AdminAPI.Request {
        AdminAPI.Request(method: method, path: path, authorization: authorization, body: Array(body.utf8), remoteAddress: "192.0.2.7")
    }

    /// (name, method, path, authorization, body, status, message in the error).
    static let refusals: [(String, HTTPMethod, String, String?, String, Int, String)] = [
        ("no token", HTTPMethod.PUT, "/admin/routes/m", nil, change, 401, "bearer token is required"),
        ("no token, read", .GET, "/admin/routes", nil, "", 401, "bearer token is required"),
        ("wrong token", .PUT, "/admin/routes/m", "Bearer t0ken-for-test", change, 401, "bearer token is required"),
        ("longer token", .PUT, "/admin/routes/m", "Bearer t0ken-for-testss", change, 401, "bearer token is required"),
        ("not bearer", .PUT, "/admin/routes/m", "Basic dDBrZW4tZm9yLXRlc3Rz", change, 401, "bearer token is required"),
        ("unknown route", .PUT, "/admin/routes/nope", good, change, 404, "unknown route 'nope' (routes: m, solo)"),
        ("unknown endpoint", .GET, "/admin/flags", good, "", 404, "no admin endpoint at /admin/flags"),
        ("too deep", .GET, "/admin/routes/m/extra", good, "", 404, "no admin endpoint"),
        ("not JSON", .PUT, "/admin/routes/m", good, "mode=canary", 400, "not valid JSON"),
        ("not an object", .PUT, "/admin/routes/m", good, "[1]", 400, "must be a JSON object"),
        ("empty body", .PUT, "/admin/routes/m", good, "", 400, "the body is empty"),
        ("unknown field", .PUT, "/admin/routes/m", good, #"{"mode":"canary","percent":10,"reason":"x"}"#, 400, "unknown field 'percent'"),
        ("wrong method", .DELETE, "/admin/routes/m", good, "", 405, "answers GET, PUT"),
        ("wrong method on the list", .POST, "/admin/routes", good, "", 405, "answers GET"),
        ("percent 140", .PUT, "/admin/routes/m", good, #"{"mode":"canary","canary_percent":140,"reason":"too much"}"#, 422,
         "canary_percent must be between 0 and 100; got 140 %"),
        ("percent as text", .PUT, "/admin/routes/m", good, #"{"mode":"canary","canary_percent":"10","reason":"x"}"#, 422,
         "canary_percent must be a number"),
        ("percent too fine", .PUT, "/admin/routes/m", good, #"{"mode":"canary","canary_percent":1.005,"reason":"x"}"#, 422,
         "resolution of 0.01"),
        ("unknown mode", .PUT, "/admin/routes/m", good, #"{"mode":"yolo","reason":"x"}"#, 422, "mode must be one of"),
        ("no reason", .PUT, "/admin/routes/m", good, #"{"mode":"canary","canary_percent":10}"#, 422, "reason is required"),
        ("nothing to change", .PUT, "/admin/routes/m", good, #"{"reason":"x"}"#, 422, "nothing to change"),
        ("no learner", .PUT, "/admin/routes/solo", good, #"{"mode":"shadow","reason":"x"}"#, 422, "route 'solo' has no learner"),
    ]

    @Test("refusals decided without the database: 401, 404, 400, 405 and 422 with a JSON error",
          arguments: AdminAPIHandlerTests.refusals)
    func refusalsWithoutDatabase(name: String, method: HTTPMethod, path: String, authorization: String?, body: String,
                                 status: Int, message: String) async throws {
        let response = try await Self.api(database: Self.unreachable).handle(Self.request(method, path, authorization: authorization, body: body))
        #expect(Int(response.status.code) == status, "\(name): \(response.json)")
        #expect(response.json.hasPrefix(#"{"error":"#) && response.json.contains(message), "\(name): \(response.json)")
        if status == 401 {
            #expect(response.headers.contains { $0.0 == "www-authenticate" && $0.1.hasPrefix("Bearer") }, "\(name)")
        }
        if status == 405 {
            #expect(response.headers.contains { $0.0 == "allow" }, "\(name)")
        }
    }

    @Test("an unreachable flag database is a 503 with a plain sentence: no connection string, no SQL")
    func databaseDown() async throws {
        let database = Self.session(Self.unreachable)
        defer { database.shutdown() }
        let response = try await Self.api(database).handle(Self.request(.GET, "/admin/routes/m"))
        #expect(response.status == .serviceUnavailable)
        #expect(response.json.contains("could not connect to PostgreSQL"), "\(response.json)")
        #expect(!response.json.contains("127.0.0.1") && !response.json.contains("nobody") && !response.json.contains("SELECT"),
                "\(response.json)")
    }

    @Test("reads, a good PUT (audited with the caller's address) and the refusals that need the current flags")
    func againstPostgres() async throws {
        let url = try await TestPostgres.migrated("admin")
        let seeded = try await onThread {
            let connection = try PGConnection(connectionString: url)
            defer { connection.close() }
            return try FlagStore(connection: connection).seed(try Self.routes())
        }
        #expect(seeded == ["m", "solo"])
        let database = Self.session(url)
        defer { database.shutdown() }
        let api = try Self.api(database)

        let list = await api.handle(Self.request(.GET, "/admin/routes"))
        #expect(list.status == .ok)
        #expect(list.json.hasPrefix(#"{"routes":[{"name":"m","mode":"shadow","canary_percent":0.0,"shadow_percent":100.0,"revision":1,"#),
                "\(list.json)")

        let misfit = await api.handle(Self.request(.PUT, "/admin/routes/m", body: #"{"mode":"shadow","canary_percent":10,"reason":"x"}"#))
        #expect(misfit.status == .unprocessableEntity)
        #expect(misfit.json.contains("does not fit mode shadow"), "\(misfit.json)")

        let put = await api.handle(Self.request(.PUT, "/admin/routes/m", body: Self.change))
        #expect(put.status == .ok, "\(put.json)")
        #expect(put.json.contains(#""mode":"canary","canary_percent":10.0,"#), "\(put.json)")
        #expect(put.json.contains(#""revision":2,"#) && put.json.contains(#""updated_by":"admin:192.0.2.7","reason":"try the learner""#),
                "\(put.json)")

        // A percent alone keeps the mode.
        let percentOnly = await api.handle(Self.request(.PUT, "/admin/routes/m", body: #"{"canary_percent":25,"reason":"widen"}"#))
        #expect(percentOnly.json.contains(#""mode":"canary","canary_percent":25.0,"#) && percentOnly.json.contains(#""revision":3,"#),
                "\(percentOnly.json)")

        let get = await api.handle(Self.request(.GET, "/admin/routes/m"))
        #expect(get.status == .ok)
        #expect(get.json.contains(#""revision":3,"#))

        let events = try await onThread {
            let connection = try PGConnection(connectionString: url)
            defer { connection.close() }
            return try connection.execute(
                "SELECT actor, action, reason FROM shadowgate.rollout_events WHERE route = 'm' ORDER BY id").rows
        }
        #expect(events == [["config", "seed", "initial state from the config file"],
                           ["admin:192.0.2.7", "set", "try the learner"], ["admin:192.0.2.7", "set", "widen"]])
    }
}
