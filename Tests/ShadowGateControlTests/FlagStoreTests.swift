import LibPQ
import ShadowGateConfig
import ShadowGateRouting
import ShadowGateTesting
import Testing
@testable import ShadowGateControl

/// ``FlagStore`` against a real PostgreSQL: seeding, audited changes, and the refusals of
/// `set_flags()` mapped to ``FlagStoreError`` kinds.
@Suite("Flag store")
struct FlagStoreTests {
    static func route(_ name: String, mode: RouteMode = .shadow, canary: Double = 0) throws -> RouteConfig {
        RouteConfig(name: name, match: ["/v2/models/\(name)/infer"], mode: mode, canaryPercent: canary,
                    legacy: try UpstreamConfig(url: "http://127.0.0.1:9"), learner: try UpstreamConfig(url: "http://127.0.0.1:9"))
    }

    /// Runs `body` with a store on a fresh, migrated database (on this thread: tests may block).
    static func withStore<T>(_ body: (FlagStore, PGConnection) throws -> T) throws -> T {
        let connection = try PGConnection(connectionString: try TestPostgres.migrated("flags"))
        defer { connection.close() }
        return try body(FlagStore(connection: connection), connection)
    }

    @Test("seeding writes the config's flags once; later seeds leave the database's flags alone")
    func seedOnce() throws {
        try Self.withStore { store, _ in
            #expect(try store.seed([try Self.route("a"), try Self.route("b", mode: .canary, canary: 5)]) == ["a", "b"])
            #expect(try store.all().map(\.route) == ["a", "b"])
            let b = try #require(try store.get(route: "b"))
            #expect(b.flags == RouteFlags(mode: .canary, canaryPercent: 5, shadowPercent: 100))
            #expect(b.revision == 1 && b.updatedBy == "config")
            _ = try store.change(route: "b", FlagStore.Change(mode: .promoted, canaryPercent: 100, actor: "cli:test@host",
                                                              action: .promote, reason: "done"))
            // The config file still says canary 5, but the database wins.
            #expect(try store.seed([try Self.route("b", mode: .canary, canary: 5), try Self.route("c")]) == ["c"])
            #expect(try store.get(route: "b")?.flags.mode == .promoted)
            #expect(try store.get(route: "nope") == nil)
        }
    }

    @Test("a change bumps the revision, records who and why, and writes one rollout event")
    func changeIsAudited() throws {
        try Self.withStore { store, connection in
            try store.seed([try Self.route("m")])
            let record = try store.change(route: "m", FlagStore.Change(
                mode: .canary, canaryPercent: 12.5, actor: FlagActor.cli(user: "ana", host: "box"), action: .set, reason: "try it"))
            #expect(record.flags == RouteFlags(mode: .canary, canaryPercent: 12.5, shadowPercent: 100))
            #expect(record.revision == 2 && record.updatedBy == "cli:ana@box" && record.reason == "try it")
            #expect(!record.changedByController)
            let events = try connection.execute(
                "SELECT actor, action, from_mode, to_mode, to_percent, reason FROM shadowgate.rollout_events WHERE route = 'm' ORDER BY id").rows
            #expect(events.last == ["cli:ana@box", "set", "shadow", "canary", "12.5", "try it"])
            #expect(events.count == 2)
        }
    }

    @Test("refusals: unknown route, a stale revision, a bad value; each changes nothing")
    func refusals() throws {
        try Self.withStore { store, _ in
            try store.seed([try Self.route("m")])
            let change = FlagStore.Change(mode: .canary, canaryPercent: 10, actor: "cli:t@h", action: .set, reason: "x")

            let unknown = #expect(throws: FlagStoreError.self) { try store.change(route: "nope", change) }
            #expect(unknown?.kind == .unknownRoute)

            var stale = change
            stale.expectedRevision = 7
            let conflict = #expect(throws: FlagStoreError.self) { try store.change(route: "m", stale) }
            #expect(conflict?.kind == .conflict)

            var tooMuch = change
            tooMuch.canaryPercent = 140
            let invalid = #expect(throws: FlagStoreError.self) { try store.change(route: "m", tooMuch) }
            #expect(invalid?.kind == .invalidValue)

            #expect(try store.get(route: "m")?.revision == 1)
        }
    }

    @Test("a database failure is a sentence without SQL; the detail stays in debugDescription")
    func databaseFailureIsPlain() {
        let error = FlagStoreError(
            PGError(.server, message: "relation \"shadowgate.flags\" does not exist", sqlState: "42P01",
                    query: "SELECT route FROM shadowgate.flags"),
            route: "m")
        #expect(error.kind == .database)
        #expect(error.description == "the flags of route 'm' could not be read or changed: PostgreSQL refused the statement "
                + "(SQLSTATE 42P01, a table is missing (are the migrations applied?))")
        #expect(!error.description.contains("SELECT") && !error.description.contains("relation"))
        #expect(error.debugDescription.contains("SELECT route FROM shadowgate.flags"))
        #expect(error.debugDescription.contains("relation \"shadowgate.flags\" does not exist"))
    }

    @Test("set_flags()'s own refusals keep their sentence (they are ShadowGate's words, not the server's)")
    func ownRefusalsKeepTheirText() {
        let invalid = FlagStoreError(PGError(.server, message: "canary_percent must be between 0 and 100", sqlState: "22023"), route: "m")
        #expect(invalid.kind == .invalidValue && invalid.description == "canary_percent must be between 0 and 100")
        let conflict = FlagStoreError(PGError(.server, message: "route m moved on to revision 3", sqlState: "40001"), route: "m")
        #expect(conflict.kind == .conflict && conflict.description == "route m moved on to revision 3")
        let unknown = FlagStoreError(PGError(.server, message: "no flags", sqlState: "P0002"), route: "m")
        #expect(unknown.kind == .unknownRoute && unknown.description.contains("route 'm' has no flags"))
    }
}
