import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster run from the installed server binaries, for when no database URL
/// is configured.
///
/// Promises:
/// - ``start()`` runs `initdb` on first use (empty or missing data directory), then `pg_ctl start`,
///   and returns a libpq connection string (user `postgres`, database `postgres`, trust auth).
///   The server listens only on a Unix socket inside the data directory (no TCP port is opened);
///   if that socket path would be too long for the OS, it listens on a free loopback port instead.
/// - When the process runs as root (initdb and postgres refuse to), the data directory is
///   chowned to the `postgres` system user and the binaries are run through
///   `runuser -u postgres --` (or `su postgres -s /bin/sh -c` when runuser is missing). The
///   directories above the data directory must be traversable by that user.
/// - If a server is already running on the data directory (another gateway, or a crashed run),
///   it is reused and ``stop()`` leaves it running.
/// - Missing binaries throw `.postgresNotInstalled` naming the package to install; any other
///   failure throws `.embeddedFailed` with the tool's output.
/// - ``stop()`` (`pg_ctl stop -m fast`) stops a server this object started; call it on exit.
public final class EmbeddedPostgres: Sendable {
    /// Environment variable naming a directory holding `initdb` and `pg_ctl`, searched first.
    public static let binDirectoryEnvironmentVariable = "SHADOWGATE_PG_BIN"

    /// Absolute path of the data directory.
    public let dataDirectory: String
    /// Directory of `initdb`, `pg_ctl` and `postgres`.
    public let binDirectory: String
    /// When false, initdb skips fsync and the server runs with `fsync=off` (tests and benchmarks only).
    public let durable: Bool
    let logger: Logger
    private let state = Mutex<(startedByUs: Bool, connectionString: String?)>((false, nil))

    /// Finds the binaries; does not touch the data directory yet.
    /// - Throws: `.postgresNotInstalled` when no `initdb`/`pg_ctl` pair is found.
    public init(dataDirectory: String, durable: Bool = true, logger: Logger = Logger(label: "shadowgate.embedded-postgres")) throws {
        self.dataDirectory = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.binDirectory = try Self.findBinDirectory()
        self.durable = durable
        self.logger = logger
    }

    /// The connection string of the running cluster, once started.
    public var connectionString: String? { state.withLock { $0.connectionString } }

    /// Finds the newest `/usr/lib/postgresql/<major>/bin` holding `initdb` and `pg_ctl`, after
    /// `SHADOWGATE_PG_BIN`, falling back to `pg_ctl`/`initdb` on `PATH`.
    /// - Parameters:
    ///   - environment: where `SHADOWGATE_PG_BIN` and `PATH` are read.
    ///   - installRoot: the directory holding one `<major>/bin` per installed server version.
    public static func findBinDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        installRoot: String = "/usr/lib/postgresql"
    ) throws -> String {
        let fm = FileManager.default
        func usable(_ dir: String) -> Bool {
            fm.isExecutableFile(atPath: dir + "/initdb") && fm.isExecutableFile(atPath: dir + "/pg_ctl")
        }
        if let dir = environment[binDirectoryEnvironmentVariable], usable(dir) { return dir }
        let root = installRoot
        let majors = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name in Double(name).map { ($0, name) } }
            .sorted { $0.0 > $1.0 }
        for (_, name) in majors where usable("\(root)/\(name)/bin") { return "\(root)/\(name)/bin" }
        for dir in (environment["PATH"] ?? "").split(separator: ":").map(String.init) {
            let ctl = dir + "/pg_ctl"
            guard fm.isExecutableFile(atPath: ctl) else { continue }
            let real = URL(fileURLWithPath: ctl).resolvingSymlinksInPath().deletingLastPathComponent().path
            if usable(real) { return real }
            if usable(dir) { return dir }
        }
        throw PairLogError(.postgresNotInstalled,
            "No PostgreSQL server binaries (initdb, pg_ctl) were found in /usr/lib/postgresql/*/bin, "
            + "\(binDirectoryEnvironmentVariable) or PATH; install them (Debian/Ubuntu: apt-get install postgresql) "
            + "or set database.url / SHADOWGATE_DATABASE_URL to use an existing server")
    }

    /// Initialises (first use) and starts the cluster; returns its connection string.
    /// Blocks while `initdb` and `pg_ctl` run (seconds); call it before serving traffic.
    @discardableResult
    public func start() throws -> String {
        let fm = FileManager.default
        let asRoot = geteuid() == 0
        try? fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        if asRoot { _ = try run(["/bin/chown", "-R", "postgres:postgres", dataDirectory], asPostgres: false) }
        _ = try? run(["/bin/chmod", "700", dataDirectory], asPostgres: false)
        if asRoot, (try? run(["/usr/bin/test", "-w", dataDirectory], asPostgres: true))?.status != 0 {
            throw PairLogError(.embeddedFailed,
                "The embedded PostgreSQL data directory \(dataDirectory) is not writable by the postgres user "
                + "(the server cannot run as root); make every directory above it traversable (chmod o+x) or choose another data_dir")
        }
        if !fm.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            logger.info("initialising the embedded PostgreSQL cluster", metadata: ["data_dir": "\(dataDirectory)"])
            var args = [binDirectory + "/initdb", "-D", dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--locale=C.UTF-8"]
            if !durable { args.append("--no-sync") }
            let r = try run(args, asPostgres: asRoot)
            guard r.status == 0 else {
                throw PairLogError(.embeddedFailed, "initdb failed for \(dataDirectory) (exit \(r.status)): \(r.output)")
            }
            try appendInclude()
        }
        let socketFits = (dataDirectory + "/.s.PGSQL.5432").utf8.count < 100
        let port = socketFits ? 5432 : try Self.freeLoopbackPort()
        let conninfo = socketFits
            ? "host=\(dataDirectory) port=\(port) user=postgres dbname=postgres"
            : "host=127.0.0.1 port=\(port) user=postgres dbname=postgres"

        if try isRunning() {
            logger.warning("reusing the PostgreSQL server already running on the embedded data directory",
                           metadata: ["data_dir": "\(dataDirectory)"])
            // Reuse its existing settings: read the socket/port it was started with.
            let existing = (try? String(contentsOfFile: dataDirectory + "/shadowgate.conf", encoding: .utf8)) ?? ""
            let cs = Self.connectionString(fromConf: existing, dataDirectory: dataDirectory) ?? conninfo
            state.withLock { $0 = (false, cs) }
            return cs
        }
        var conf = "# written by ShadowGate on every start of the embedded cluster\n"
        conf += "port = \(port)\n"
        conf += socketFits ? "listen_addresses = ''\nunix_socket_directories = '\(dataDirectory)'\n"
                           : "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
        if !durable { conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n" }
        try conf.write(toFile: dataDirectory + "/shadowgate.conf", atomically: false, encoding: .utf8)
        if asRoot { _ = try run(["/bin/chown", "postgres:postgres", dataDirectory + "/shadowgate.conf"], asPostgres: false) }
        let r = try run([binDirectory + "/pg_ctl", "-D", dataDirectory, "-l", dataDirectory + "/server.log", "-w", "-t", "60", "start"],
                        asPostgres: asRoot)
        guard r.status == 0 else {
            let log = (try? String(contentsOfFile: dataDirectory + "/server.log", encoding: .utf8))?
                .split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
            throw PairLogError(.embeddedFailed,
                "pg_ctl could not start the embedded PostgreSQL in \(dataDirectory) (exit \(r.status)): \(r.output) \(log)")
        }
        logger.info("embedded PostgreSQL started", metadata: ["data_dir": "\(dataDirectory)"])
        state.withLock { $0 = (true, conninfo) }
        return conninfo
    }

    /// Stops the cluster if this object started it (`pg_ctl stop -m fast`, waits until down).
    /// - Throws: `.embeddedFailed` when pg_ctl fails.
    public func stop() throws {
        let ours = state.withLock { s -> Bool in defer { s = (false, nil) }; return s.startedByUs }
        guard ours else { return }
        let r = try run([binDirectory + "/pg_ctl", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"],
                        asPostgres: geteuid() == 0)
        guard r.status == 0 else {
            throw PairLogError(.embeddedFailed, "pg_ctl could not stop the embedded PostgreSQL in \(dataDirectory): \(r.output)")
        }
        logger.info("embedded PostgreSQL stopped", metadata: ["data_dir": "\(dataDirectory)"])
    }

    /// Whether a server is running on the data directory (`pg_ctl status`).
    public func isRunning() throws -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return false }
        return try run([binDirectory + "/pg_ctl", "-D", dataDirectory, "status"], asPostgres: geteuid() == 0).status == 0
    }

    // MARK: - helpers

    private func appendInclude() throws {
        let path = dataDirectory + "/postgresql.conf"
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw PairLogError(.embeddedFailed, "could not open \(path) to add ShadowGate's settings")
        }
        defer { try? h.close() }
        h.seekToEndOfFile()
        h.write(Data("\ninclude_if_exists = 'shadowgate.conf'\n".utf8))
    }

    /// The connection string of a cluster a gateway started in `dataDirectory` and that is still
    /// running (its `postmaster.pid` exists); `nil` otherwise. Lets CLI commands reach the embedded
    /// default without a URL.
    public static func runningConnectionString(dataDirectory: String) -> String? {
        // libpq takes a socket directory only as an absolute path.
        let dataDirectory = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid"),
              let conf = try? String(contentsOfFile: dataDirectory + "/shadowgate.conf", encoding: .utf8)
        else { return nil }
        return connectionString(fromConf: conf, dataDirectory: dataDirectory)
    }

    static func connectionString(fromConf conf: String, dataDirectory: String) -> String? {
        var port: String?
        var tcp = false
        for line in conf.split(separator: "\n") {
            if line.hasPrefix("port = ") { port = String(line.dropFirst(7)) }
            if line.hasPrefix("listen_addresses = '127.0.0.1'") { tcp = true }
        }
        guard let port else { return nil }
        return "host=\(tcp ? "127.0.0.1" : dataDirectory) port=\(port) user=postgres dbname=postgres"
    }

    /// Runs a command (as the postgres user when asked) and returns its exit status and output.
    func run(_ args: [String], asPostgres: Bool) throws -> (status: Int32, output: String) {
        guard asPostgres else { return try ChildProcess.run(args) }
        let fm = FileManager.default
        if let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first(where: fm.isExecutableFile(atPath:)) {
            return try ChildProcess.run([runuser, "-u", "postgres", "--"] + args)
        }
        return try ChildProcess.run(["/bin/su", "postgres", "-s", "/bin/sh", "-c", args.map(Self.shellQuote).joined(separator: " ")])
    }

    static func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// A loopback TCP port nothing listens on right now (the kernel's pick for port 0). Also what
    /// the test servers use, instead of a random guess another run on the machine may hold.
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PairLogError(.embeddedFailed, "could not open a socket to find a free port") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                bind(fd, sp, len) == 0 && getsockname(fd, sp, &len) == 0
            }
        }
        guard ok else { throw PairLogError(.embeddedFailed, "could not bind a loopback socket to find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
