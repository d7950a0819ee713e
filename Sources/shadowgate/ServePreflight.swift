import Foundation
import LibPQ
import Logging
import ShadowGateConfig
import ShadowGateControl
import ShadowGatePairLog

#if canImport(Glibc)
import Glibc
#endif

/// Everything `serve` checks before its first side effect (starting the embedded cluster,
/// migrating, binding): the admin token, the migrations, the listen addresses, the spool
/// directory, and — with a configured database — that the control connection is a real session.
///
/// Promises: throws a ``CommandFailure`` with one sentence naming what to set, and starts nothing;
/// what it opens to check (a test socket, two database connections) is closed before it returns.
struct ServePreflight {
    var config: GatewayConfig
    var migrationsDirectory: String?
    var pairLog: Bool

    /// The URL the control connection uses, with keepalives: `database.control_url`, else the pair log's.
    static func controlURL(_ config: GatewayConfig, pairLogURL: String) throws -> String {
        try ControlConnection.connectionString(config.database.controlURL ?? pairLogURL)
    }

    /// The control URL for the flag watcher: quicker to give up on a silent link (``FlagWatcher/connectionDefaults``).
    static func flagWatcherURL(_ config: GatewayConfig, pairLogURL: String) throws -> String {
        try ControlConnection.connectionString(config.database.controlURL ?? pairLogURL, tighter: FlagWatcher.connectionDefaults)
    }

    func run(logger: Logger) async throws {
        if pairLog, config.adminListen != nil {
            let token = ProcessInfo.processInfo.environment[RolloutControl.tokenVariable] ?? ""
            if token.isEmpty {
                throw CommandFailure("admin.listen is set but \(RolloutControl.tokenVariable) is empty: set a bearer token for the admin API (e.g. export \(RolloutControl.tokenVariable)=$(openssl rand -hex 16)), or remove admin.listen")
            }
        }
        if pairLog {
            let directory = migrationsDirectory
            do {
                let runner = MigrationRunner(directory: directory)
                let migrations = try runner.loadMigrations()
                guard !migrations.isEmpty else { throw CommandFailure("no migrations found in \(directory ?? "the binary")") }
                // The runner reads these only while migrating (after the embedded cluster started).
                _ = try runner.loadFunctionFiles()
                _ = try runner.loadSupersededChecksums()
            } catch let error as PairLogError {
                throw CommandFailure("\(error)")
            }
            try checkWritable(config.database.spoolDir, key: "database.spool_dir")
            if config.database.controlURL != nil, ConfigOptions.databaseURL(config) == nil {
                throw CommandFailure("database.control_url is set but database.url is not: set both (the embedded cluster needs neither)")
            }
        }
        try checkFree(config.listen, key: "listen")
        if let admin = config.adminListen, pairLog { try checkFree(admin, key: "admin.listen") }
        if pairLog, let url = ConfigOptions.databaseURL(config) {
            let control = try Self.controlURL(config, pairLogURL: url)
            let name = config.database.controlURL == nil ? "database.url (used for control too: no database.control_url)" : "database.control_url"
            do {
                try await blockingWork.run { try ControlSessionCheck(connectionString: control, name: name).run() }
            } catch let failure as ControlSessionCheck.Failure {
                throw CommandFailure(failure.description)
            } catch let error as PGError {
                throw CommandFailure("cannot reach PostgreSQL through \(name)", cause: error)
            }
        }
    }

    /// The directory exists and is writable, or its nearest existing parent is.
    private func checkWritable(_ path: String, key: String) throws {
        var candidate = URL(fileURLWithPath: path).standardizedFileURL.path
        while !FileManager.default.fileExists(atPath: candidate) {
            let parent = (candidate as NSString).deletingLastPathComponent
            if parent == candidate { break }
            candidate = parent
        }
        guard FileManager.default.isWritableFile(atPath: candidate) else {
            throw CommandFailure("\(key) '\(path)' cannot be created or written (\(candidate) is not writable): point it at a writable directory")
        }
    }

    /// Nothing else listens on the address (bound and closed again at once, with SO_REUSEADDR as the server does).
    private func checkFree(_ address: HostPort, key: String) throws {
        #if canImport(Glibc)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address.host, String(address.port), &hints, &result) == 0, let info = result else {
            throw CommandFailure("\(key) \(address): cannot resolve '\(address.host)'")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            let reason = String(cString: strerror(errno))
            throw CommandFailure("\(key) \(address) cannot be used: \(reason)")
        }
        #endif
    }
}
