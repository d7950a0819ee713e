import Foundation
import LibPQ
import Logging

/// Brings a database's `shadowgate` schema to what a migrations tree describes (a directory, or
/// the copy compiled into the binary: ``MigrationSource``): the numbered SQL files (tables,
/// indexes, data changes; each applied once) and the files of its `functions/` folder (every SQL
/// function, type and view, defined once each; re-applied when their text changes). See
/// `migrations/README.md`.
///
/// Promises:
/// - Pending numbered migrations run in version order, each with its row in
///   `shadowgate.schema_migrations`; then, when any migration was applied or any function file's
///   text differs from what `shadowgate.schema_functions` recorded (a file added, changed or
///   removed), every function file is applied again, in name order, and the set is recorded.
///   All of it is one transaction: writers never see new tables without the functions and
///   triggers that go with them.
/// - A failing numbered migration is rolled back (to a savepoint) and the run stops there: the
///   migrations before it are committed, the function files are not applied, and it throws
///   `.migrationFailed` naming the file. A failing function file rolls back all function files
///   (the numbered migrations of the run are committed) and throws `.migrationFailed` naming it.
/// - Safe to run again (nothing to do is a no-op that changes nothing) and from several processes
///   at once: the whole run holds a session advisory lock (``lockKey``), so concurrent runners
///   wait and then find nothing left to do.
/// - Files must not contain their own `BEGIN`/`COMMIT`. Function files are applied with
///   `check_function_bodies = off` (as `pg_dump` output is), so their order matters only for
///   types and views.
/// - A numbered file whose text changed after it was applied is not re-applied. When the checksum
///   the database recorded is listed for that version in `superseded_checksums.txt` (files edited
///   on purpose, e.g. when the function definitions moved to `functions/`), the current checksum
///   is recorded instead; any other change is logged as a warning.
public struct MigrationRunner: Sendable {
    /// `pg_advisory_lock` key held while migrating ("SGMIGR" in ASCII).
    public static let lockKey: Int64 = 0x5347_4D49_4752
    /// Environment variable naming the migrations directory.
    public static let directoryEnvironmentVariable = "SHADOWGATE_MIGRATIONS_DIR"
    /// The folder of the migrations directory holding the function files.
    public static let functionsFolder = "functions"
    /// The file of the migrations directory listing superseded checksums (`NNNN checksum` a line).
    public static let supersededChecksumsFile = "superseded_checksums.txt"

    public var source: MigrationSource
    public var logger: Logger

    /// - Parameter directory: the migrations directory; `nil` uses `SHADOWGATE_MIGRATIONS_DIR`,
    ///   else the migrations compiled into the binary.
    public init(directory: String? = nil, logger: Logger = Logger(label: "shadowgate.migrations")) {
        let environment = ProcessInfo.processInfo.environment[Self.directoryEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        self.source = (directory ?? environment).map(MigrationSource.directory) ?? .embedded
        self.logger = logger
    }

    /// Reads and orders the numbered migration files (the top level of the tree).
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

    /// Reads the `*.sql` files of `functions/`, ordered by name (byte order); none when the
    /// folder does not exist.
    /// - Throws: `.migrationsNotFound` when the directory cannot be read, `.invalidMigration` when
    ///   a file cannot be read.
    public func loadFunctionFiles() throws -> [SQLFunctionFile] {
        try source.files(in: Self.functionsFolder).filter { $0.relativePath.hasSuffix(".sql") }.map { file in
            SQLFunctionFile(name: String(file.relativePath.dropFirst(Self.functionsFolder.count + 1)), sql: file.sql)
        }
    }

    /// Reads `superseded_checksums.txt`: per version, checksums of earlier texts of that file that
    /// a database may have recorded. Blank lines and text after `#` are ignored; none when the
    /// file does not exist.
    /// - Throws: `.invalidMigration` for a line that is not `NNNN checksum`.
    public func loadSupersededChecksums() throws -> [Int: Set<String>] {
        guard let text = try source.text(of: Self.supersededChecksumsFile) else { return [:] }
        var result: [Int: Set<String>] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { continue }
            guard fields.count == 2, let version = Int(fields[0]) else {
                throw PairLogError(.invalidMigration, "\(Self.supersededChecksumsFile) line \(n + 1) is not \"NNNN checksum\"")
            }
            result[version, default: []].insert(String(fields[1]))
        }
        return result
    }

    /// Applies every pending migration and, after any change, the function files; returns the
    /// numbered migrations it applied (empty when there were none).
    /// Blocks the calling thread; run it on a thread of its own or before starting the server.
    @discardableResult
    public func migrate(connection: PGConnection) throws -> [Migration] {
        let migrations = try loadMigrations()
        let functionFiles = try loadFunctionFiles()
        let superseded = try loadSupersededChecksums()
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
            CREATE TABLE IF NOT EXISTS shadowgate.schema_functions (
                file       text PRIMARY KEY,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """)
        var applied: [Int: String] = [:]
        for row in try connection.execute("SELECT version, checksum FROM shadowgate.schema_migrations").rows {
            if let v = row[0].flatMap({ Int($0) }) { applied[v] = row[1] ?? "" }
        }
        var recordedFunctions: [String: String] = [:]
        for row in try connection.execute("SELECT file, checksum FROM shadowgate.schema_functions").rows {
            if let file = row[0] { recordedFunctions[file] = row[1] ?? "" }
        }

        var pending: [Migration] = []
        var recordCurrentChecksum: [Migration] = []
        for m in migrations {
            guard let sum = applied[m.version] else { pending.append(m); continue }
            if sum == m.checksum { continue }
            if superseded[m.version]?.contains(sum) == true {
                recordCurrentChecksum.append(m)
            } else {
                logger.warning("migration file changed after it was applied; not re-applying",
                               metadata: ["version": "\(m.version)", "name": "\(m.name)"])
            }
        }
        let currentFunctions = Dictionary(uniqueKeysWithValues: functionFiles.map { ($0.name, $0.checksum) })
        let applyFunctions = !pending.isEmpty || currentFunctions != recordedFunctions
        if pending.isEmpty && recordCurrentChecksum.isEmpty && !applyFunctions { return [] }

        try connection.execute("BEGIN")
        var done: [Migration] = []
        do {
            for m in pending {
                try connection.execute("SAVEPOINT migration")
                do {
                    try connection.executeScript(m.sql)
                    try connection.execute(
                        "INSERT INTO shadowgate.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        [String(m.version), m.name, m.checksum])
                    try connection.execute("RELEASE SAVEPOINT migration")
                } catch {
                    _ = try? connection.execute("ROLLBACK TO SAVEPOINT migration")
                    try connection.execute("COMMIT")
                    throw PairLogError(.migrationFailed,
                        "Migration \(String(format: "%04d", m.version))_\(m.name) failed and was rolled back",
                        underlying: error as? PGError)
                }
                logger.info("applied migration", metadata: ["version": "\(m.version)", "name": "\(m.name)"])
                done.append(m)
            }
            for m in recordCurrentChecksum {
                try connection.execute("UPDATE shadowgate.schema_migrations SET checksum = $2 WHERE version = $1",
                                       [String(m.version), m.checksum])
                logger.info("migration file was edited on purpose after it was applied (superseded checksum); recorded its current checksum",
                            metadata: ["version": "\(m.version)", "name": "\(m.name)"])
            }
            if applyFunctions {
                try connection.execute("SAVEPOINT functions")
                try connection.execute("SET LOCAL check_function_bodies = off")
                for f in functionFiles {
                    do {
                        try connection.executeScript(f.sql)
                    } catch {
                        _ = try? connection.execute("ROLLBACK TO SAVEPOINT functions")
                        try connection.execute("COMMIT")
                        throw PairLogError(.migrationFailed,
                            "Function file \(Self.functionsFolder)/\(f.name) failed; every function file was rolled back",
                            underlying: error as? PGError)
                    }
                }
                try connection.execute("RESET check_function_bodies")
                try connection.execute("DELETE FROM shadowgate.schema_functions")
                for f in functionFiles {
                    try connection.execute("INSERT INTO shadowgate.schema_functions (file, checksum) VALUES ($1, $2)",
                                           [f.name, f.checksum])
                }
                try connection.execute("RELEASE SAVEPOINT functions")
                let changed = functionFiles.filter { recordedFunctions[$0.name] != $0.checksum }.map(\.name)
                logger.info("applied the function files",
                            metadata: ["files": "\(functionFiles.count)", "changed": "\(changed.joined(separator: ","))"])
            }
            try connection.execute("COMMIT")
        } catch let e as PairLogError {
            throw e
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw PairLogError(.migrationFailed, "The migration run failed and was rolled back", underlying: error as? PGError)
        }
        return done
    }

    /// Opens a connection, applies pending migrations and changed function files, closes it.
    @discardableResult
    public func migrate(connectionString: String) throws -> [Migration] {
        let conn = try PGConnection(connectionString: connectionString, applicationName: "shadowgate-migrate")
        defer { conn.close() }
        return try migrate(connection: conn)
    }
}
