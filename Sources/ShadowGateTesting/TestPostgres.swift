import Foundation
import LibPQ
import ShadowGatePairLog

/// Where tests find PostgreSQL (postgres-nio `Utilities.swift` style), shared by every test target.
///
/// `SHADOWGATE_TEST_DATABASE_URL` (set by `Scripts/test.sh` via `Scripts/postgres/start.sh`) wins;
/// without it a throwaway embedded cluster is started once per test process in a temporary
/// directory and stopped (and deleted) at exit, so `swift test` alone works too.
/// Every test gets a database of its own, so tests run in parallel without seeing each other.
public enum TestPostgres {
    public static let serverURL: String = {
        if let url = ProcessInfo.processInfo.environment["SHADOWGATE_TEST_DATABASE_URL"], !url.isEmpty { return url }
        let dir = NSTemporaryDirectory() + "shadowgate-tests-\(getpid())"
        do {
            let cluster = try EmbeddedPostgres(dataDirectory: dir, durable: false)
            let url = try cluster.start()
            embedded = cluster
            atexit {
                try? TestPostgres.embedded?.stop()
                if let d = TestPostgres.embedded?.dataDirectory { try? FileManager.default.removeItem(atPath: d) }
            }
            return url
        } catch {
            fatalError("no SHADOWGATE_TEST_DATABASE_URL and the embedded cluster could not start: \(error)")
        }
    }()
    nonisolated(unsafe) static var embedded: EmbeddedPostgres?

    /// Creates an empty database and returns its connection string.
    public static func fresh(_ prefix: String = "t") throws -> String {
        let name = "sg_\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PGConnection(connectionString: serverURL)
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(PGConnection.quoteIdentifier(name))")
        return try PGConnectionString.overriding(serverURL, with: ["dbname": name])
    }

    /// A fresh database with the migrations applied.
    public static func migrated(_ prefix: String = "t") throws -> String {
        let cs = try fresh(prefix)
        try MigrationRunner(directory: migrationsDirectory).migrate(connectionString: cs)
        return cs
    }

    /// `fresh` on a thread of its own: async tests call this one, keeping the cooperative pool
    /// (two threads on a 2-core machine) free for the tests running in parallel.
    public static func fresh(_ prefix: String = "t") async throws -> String {
        try await onThread { try fresh(prefix) }
    }

    /// `migrated` on a thread of its own, as `fresh` above.
    public static func migrated(_ prefix: String = "t") async throws -> String {
        try await onThread { try migrated(prefix) }
    }

    /// `migrations/` of this package, found from this source file's path.
    public static let migrationsDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("migrations").path
    }()
}
