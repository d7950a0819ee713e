import Foundation
import LibPQ
import ShadowGateControl
import ShadowGateTesting
import Testing

/// The start-up check of a control connection, against PostgreSQL directly and through a real
/// PgBouncer (Debian's) in transaction mode (refused) and in session mode (accepted).
@Suite(.serialized) struct ControlSessionCheckTests {
    /// A longer connect timeout than the control default (5 s): on a loaded machine a session
    /// through PgBouncer once took longer than that to open, and these tests are about what the
    /// session can do, not how fast it opens.
    static let patient = "?connect_timeout=30"

    @Test func aDirectSessionPasses() async throws {
        let cs = try await TestPostgres.fresh("ctl")
        try await onThread {
            try ControlSessionCheck(connectionString: try ControlConnection.connectionString(cs), name: "database.control_url").run()
        }
    }

    @Test func pgBouncerInTransactionModeIsRefusedWithASentence() async throws {
        let cs = try await TestPostgres.fresh("ctl")
        let bouncer = try await PgBouncer.start(target: cs, mode: "transaction")
        defer { bouncer.stop() }
        let error = await #expect(throws: ControlSessionCheck.Failure.self) {
            try await onThread {
                try ControlSessionCheck(connectionString: try ControlConnection.connectionString(bouncer.url + Self.patient), name: "database.control_url").run()
            }
        }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("database.control_url cannot be used for flags and leadership"))
        #expect(text.contains("transaction mode"))
        #expect(!text.contains("postgresql://"))
        // The pooler itself works: the pair writer may use it.
        let answer = try await onThread {
            let plain = try PGConnection(connectionString: bouncer.url)
            defer { plain.close() }
            return try plain.execute("SELECT 41 + 1").scalar
        }
        #expect(answer == "42")
    }

    @Test func pgBouncerInSessionModePasses() async throws {
        let cs = try await TestPostgres.fresh("ctl")
        let bouncer = try await PgBouncer.start(target: cs, mode: "session")
        defer { bouncer.stop() }
        try await onThread {
            try ControlSessionCheck(connectionString: try ControlConnection.connectionString(bouncer.url + Self.patient), name: "database.control_url").run()
        }
    }

    @Test func controlDefaultsAreAddedUnlessTheURLSetsThem() throws {
        let cs = try ControlConnection.connectionString("postgresql://u@db:5432/gate?keepalives_idle=30")
        #expect(cs.contains("keepalives_idle='30'"))
        #expect(cs.contains("tcp_user_timeout='10000'"))
        #expect(cs.contains("keepalives='1'"))
    }

    @Test("the flag watcher's connection gives up sooner, unless the URL says otherwise")
    func flagWatcherDefaultsAreTighter() throws {
        let cs = try ControlConnection.connectionString("postgresql://u@db:5432/gate", tighter: FlagWatcher.connectionDefaults)
        #expect(cs.contains("tcp_user_timeout='3000'"))
        #expect(cs.contains("connect_timeout='2'"))
        #expect(cs.contains("keepalives_idle='5'"))
        let set = try ControlConnection.connectionString("postgresql://u@db:5432/gate?tcp_user_timeout=20000", tighter: FlagWatcher.connectionDefaults)
        #expect(set.contains("tcp_user_timeout='20000'"))
        #expect(set.contains("connect_timeout='2'"))
    }
}
