import Foundation
import LibPQ
import ShadowGatePairLog

/// A real PgBouncer (Debian's) in front of a test database, in `transaction` or `session` pool
/// mode (run as `postgres` when root: it refuses root). Stopping it ends every client connection.
public final class PgBouncer: @unchecked Sendable {
    public let url: String
    public let port: Int
    private var process: Process
    private let directory: String

    /// - Parameter port: where to listen (default a loopback port unused at the time); pass the old one to start it again.
    public init(target: String, mode: String, port: Int? = nil) throws {
        let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else {
            throw PGError(.connectionFailed, message: "pgbouncer is not installed (Scripts/dev/install-deps.sh installs it)")
        }
        let probe = try PGConnection(connectionString: target)
        // TCP when the server was reached over TCP, else its first Unix socket directory (the embedded test cluster).
        let host = try probe.execute(
            "SELECT coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1))").scalar ?? "127.0.0.1"
        let serverPort = try probe.execute("SELECT current_setting('port')").scalar ?? "5432"
        let dbname = try probe.execute("SELECT current_database()").scalar ?? "postgres"
        let user = try probe.execute("SELECT current_user").scalar ?? "postgres"
        probe.close()
        directory = NSTemporaryDirectory() + "sg-pgbouncer-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        // As root, pgbouncer itself drops to `postgres` (-u): the child is pgbouncer, so stop() can signal it.
        let arguments = (getuid() == 0 ? ["-u", "postgres"] : []) + [directory + "/pgbouncer.ini"]
        let deadline = Date().addingTimeInterval(15)
        var process = Process()
        var listenPort = try port ?? EmbeddedPostgres.freeLoopbackPort()
        while Date() < deadline {
            try Self.config(dbname: dbname, host: host, serverPort: serverPort, listenPort: listenPort, mode: mode, directory: directory)
                .write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
            try "\"\(user)\" \"\"\n".write(toFile: directory + "/users.txt", atomically: true, encoding: .utf8)
            let url = "postgresql://\(user)@127.0.0.1:\(listenPort)/\(dbname)"
            process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            try process.run()
            // Until it answers; a start that failed (the port of a previous run still closing, or taken
            // by another process on a shared machine) is retried.
            while process.isRunning, Date() < deadline {
                if let c = try? PGConnection(connectionString: url) {
                    c.close()
                    // Whoever answered, pgbouncer must still be running: one that could not bind exits at once.
                    Thread.sleep(forTimeInterval: 0.1)
                    guard process.isRunning else { break }
                    self.process = process
                    self.port = listenPort
                    self.url = url
                    return
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            Thread.sleep(forTimeInterval: 0.3)
            // A port the caller chose is kept (a restart on the same port); a chosen-here one that failed is replaced.
            if port == nil { listenPort = try EmbeddedPostgres.freeLoopbackPort() }
        }
        self.process = process
        self.port = listenPort
        self.url = "postgresql://\(user)@127.0.0.1:\(listenPort)/\(dbname)"
        stop()
        let log = (try? String(contentsOfFile: directory + "/pgbouncer.log", encoding: .utf8)) ?? ""
        throw PGError(.connectionFailed, message: "pgbouncer did not start: \(log.suffix(400))")
    }

    /// `init` on a thread of its own (it waits up to 15 s for PgBouncer to answer), keeping the
    /// cooperative pool free for the other tests running in parallel.
    public static func start(target: String, mode: String, port: Int? = nil) async throws -> PgBouncer {
        try await onThread { try PgBouncer(target: target, mode: mode, port: port) }
    }

    private static func config(dbname: String, host: String, serverPort: String, listenPort: Int, mode: String, directory: String) -> String {
        """
        [databases]
        \(dbname) = host=\(host) port=\(serverPort) dbname=\(dbname)
        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = \(listenPort)
        unix_socket_dir =
        auth_type = trust
        auth_file = \(directory)/users.txt
        pool_mode = \(mode)
        default_pool_size = 4
        ; several server sessions used in turn, so a client's transactions land on different ones
        ; (session state such as a temporary table does not follow them, as in production)
        min_pool_size = 3
        server_round_robin = 1
        max_client_conn = 50
        logfile = \(directory)/pgbouncer.log
        ignore_startup_parameters = extra_float_digits
        """
    }

    /// `stop()` on a thread of its own, keeping the cooperative pool free.
    public func stopped() async throws {
        try await onThread { self.stop() }
    }

    /// SIGTERM (immediate shutdown: every client connection ends), SIGKILL after 5 s.
    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
