import Foundation
import LibPQ
import ShadowGateControl
import ShadowGateTesting
import Testing

/// The start-up check of a control connection, against PostgreSQL directly and through a real
/// PgBouncer (Debian's) in transaction mode (refused) and in session mode (accepted).
@Suite(.serialized) struct ControlSessionCheckTests {
    @Test func aDirectSessionPasses() async throws {
        let cs = try TestPostgres.fresh("ctl")
        try await onThread {
            try ControlSessionCheck(connectionString: try ControlConnection.connectionString(cs), name: "database.control_url").run()
        }
    }

    @Test func pgBouncerInTransactionModeIsRefusedWithASentence() async throws {
        let cs = try TestPostgres.fresh("ctl")
        let bouncer = try PgBouncer(target: cs, mode: "transaction")
        defer { bouncer.stop() }
        let error = await #expect(throws: ControlSessionCheck.Failure.self) {
            try await onThread {
                try ControlSessionCheck(connectionString: try ControlConnection.connectionString(bouncer.url), name: "database.control_url").run()
            }
        }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("database.control_url cannot be used for flags and leadership"))
        #expect(text.contains("transaction mode"))
        #expect(!text.contains("postgresql://"))
        // The pooler itself works: the pair writer may use it.
        let plain = try PGConnection(connectionString: bouncer.url)
        defer { plain.close() }
        #expect(try plain.execute("SELECT 41 + 1").scalar == "42")
    }

    @Test func pgBouncerInSessionModePasses() async throws {
        let cs = try TestPostgres.fresh("ctl")
        let bouncer = try PgBouncer(target: cs, mode: "session")
        defer { bouncer.stop() }
        try await onThread {
            try ControlSessionCheck(connectionString: try ControlConnection.connectionString(bouncer.url), name: "database.control_url").run()
        }
    }

    @Test func controlDefaultsAreAddedUnlessTheURLSetsThem() throws {
        let cs = try ControlConnection.connectionString("postgresql://u@db:5432/gate?keepalives_idle=30")
        #expect(cs.contains("keepalives_idle='30'"))
        #expect(cs.contains("tcp_user_timeout='10000'"))
        #expect(cs.contains("keepalives='1'"))
    }
}

/// A PgBouncer process in front of the test server (run as `postgres` when root: it refuses root).
final class PgBouncer: @unchecked Sendable {
    let url: String
    private let process: Process
    private let directory: String

    init(target: String, mode: String) throws {
        let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else {
            throw PGError(.connectionFailed, message: "pgbouncer is not installed (Scripts/install-deps.sh installs it)")
        }
        let probe = try PGConnection(connectionString: target)
        // TCP when the server was reached over TCP, else its first Unix socket directory (the embedded test cluster).
        let host = try probe.execute(
            "SELECT coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1))").scalar ?? "127.0.0.1"
        let port = try probe.execute("SELECT current_setting('port')").scalar ?? "5432"
        let dbname = try probe.execute("SELECT current_database()").scalar ?? "postgres"
        let user = try probe.execute("SELECT current_user").scalar ?? "postgres"
        probe.close()
        directory = NSTemporaryDirectory() + "sg-pgbouncer-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let listenPort = Int.random(in: 30000...60000)
        let ini = """
            [databases]
            \(dbname) = host=\(host) port=\(port) dbname=\(dbname)
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(listenPort)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(directory)/users.txt
            pool_mode = \(mode)
            default_pool_size = 4
            max_client_conn = 50
            logfile = \(directory)/pgbouncer.log
            ignore_startup_parameters = extra_float_digits
            """
        try ini.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        try "\"\(user)\" \"\"\n".write(toFile: directory + "/users.txt", atomically: true, encoding: .utf8)
        process = Process()
        if getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", binary, directory + "/pgbouncer.ini"]
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [directory + "/pgbouncer.ini"]
        }
        try process.run()
        url = "postgresql://\(user)@127.0.0.1:\(listenPort)/\(dbname)"
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let c = try? PGConnection(connectionString: url) { c.close(); return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        let log = (try? String(contentsOfFile: directory + "/pgbouncer.log", encoding: .utf8)) ?? ""
        throw PGError(.connectionFailed, message: "pgbouncer did not start: \(log.suffix(400))")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
