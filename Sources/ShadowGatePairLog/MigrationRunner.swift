import Foundation
import LibPQ
import Logging

/// Applies the numbered SQL files of a migrations directory to a database, in order.
///
/// Promises:
/// - Each pending migration runs in its own transaction together with its row in
///   `shadowgate.schema_migrations`; a failing one is rolled back, the run stops there and throws
///   `.migrationFailed` (the ones before it stay applied).
/// - Safe to run again (applied versions are skipped) and from several processes at once: the
///   whole run holds a session advisory lock (``lockKey``), so concurrent runners wait and then
///   find nothing left to do.
/// - Migration files must not contain their own `BEGIN`/`COMMIT`.
/// - A file whose text changed after it was applied is logged as a warning, not re-applied.
public struct MigrationRunner: Sendable {
    /// `pg_advisory_lock` key held while migrating ("SGMIGR" in ASCII).
    public static let lockKey: Int64 = 0x5347_4D49_4752
    /// Environment variable naming the migrations directory.
    public static let directoryEnvironmentVariable = "SHADOWGATE_MIGRATIONS_DIR"

    public var source: MigrationSource
    public var logger: Logger

    /// - Parameter directory: the migrations directory; `nil` uses `SHADOWGATE_MIGRATIONS_DIR`,
    ///   else the migrations compiled into the binary.
    public init(directory: String? = nil, logger: Logger = Logger(label: "shadowgate.migrations")) {
        let environment = ProcessInfo.processInfo.environment[Self.directoryEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        self.source = (directory ?? environment).map(MigrationSource.directory) ?? .embedded
        self.logger = logger
    }

    /// Reads and orders the migration files.
    /// - Throws: `.migrationsNotFound` when the directory cannot be read, `.invalidMigration` for
    ///   a duplicate version or an unreadable file. Files not named `NNNN_name.sql` are ignored.
    public func loadMigrations() throws -> [Migration] {
        var byVersion: [Int: Migration] = [:]
        // Numbered files sit at the top of the tree; subfolders (functions/) are not numbered migrations.
        for file in try source.files() where !file.relativePath.contains("/") {
            guard let (version, name) = Migration.parseFileName(file.relativePath) else { continue }
            let sql = file.sql
            if let other = byVersion[version] {
                throw PairLogError(.invalidMigration,
                    "Two migration files share version \(version): \(other.name) and \(name); renumber one")
            }
            byVersion[version] = Migration(version: version, name: name, sql: sql)
        }
        return byVersion.values.sorted { $0.version < $1.version }
    }

    /// Applies every pending migration and returns those it applied (empty when up to date).
    /// Blocks the calling thread; run it on a thread of its own or before starting the server.
    @discardableResult
    public func migrate(connection: PGConnection) throws -> [Migration] {
        let migrations = try loadMigrations()
        try connection.execute("SELECT pg_advisory_lock($1)", [String(Self.lockKey)])
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock($1)", [String(Self.lockKey)]) }
        try connection.executeScript("""
            CREATE SCHEMA IF NOT EXISTS shadowgate;
            CREATE TABLE IF NOT EXISTS shadowgate.schema_migrations (
                version    int PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """)
        var applied: [Int: String] = [:]
        for row in try connection.execute("SELECT version, checksum FROM shadowgate.schema_migrations").rows {
            if let v = row[0].flatMap({ Int($0) }) { applied[v] = row[1] ?? "" }
        }
        var done: [Migration] = []
        for m in migrations {
            if let sum = applied[m.version] {
                if sum != m.checksum {
                    logger.warning("migration file changed after it was applied; not re-applying",
                                   metadata: ["version": "\(m.version)", "name": "\(m.name)"])
                }
                continue
            }
            do {
                try connection.execute("BEGIN")
                try connection.executeScript(m.sql)
                try connection.execute(
                    "INSERT INTO shadowgate.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [String(m.version), m.name, m.checksum])
                try connection.execute("COMMIT")
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw PairLogError(.migrationFailed,
                    "Migration \(String(format: "%04d", m.version))_\(m.name) failed and was rolled back",
                    underlying: error as? PGError)
            }
            logger.info("applied migration", metadata: ["version": "\(m.version)", "name": "\(m.name)"])
            done.append(m)
        }
        return done
    }

    /// Opens a connection, applies pending migrations, closes it.
    @discardableResult
    public func migrate(connectionString: String) throws -> [Migration] {
        let conn = try PGConnection(connectionString: connectionString, applicationName: "shadowgate-migrate")
        defer { conn.close() }
        return try migrate(connection: conn)
    }
}
