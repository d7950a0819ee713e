import Foundation
import LibPQ
import ShadowGatePairLog

/// Where the pair-log tests find PostgreSQL (postgres-nio `Utilities.swift` style).
///
/// `SHADOWGATE_TEST_DATABASE_URL` (set by `Scripts/test.sh` via `Scripts/pg/start.sh`) wins;
/// without it a throwaway embedded cluster is started once per test process in a temporary
/// directory and stopped (and deleted) at exit, so `swift test` alone works too.
/// Every test gets a database of its own, so tests run in parallel without seeing each other.
enum TestDatabase {
    static let serverURL: String = {
        if let url = ProcessInfo.processInfo.environment["SHADOWGATE_TEST_DATABASE_URL"], !url.isEmpty { return url }
        let dir = NSTemporaryDirectory() + "shadowgate-pairlog-tests-\(getpid())"
        do {
            let pg = try EmbeddedPostgres(dataDirectory: dir, durable: false)
            let cs = try pg.start()
            embedded = pg
            atexit {
                try? TestDatabase.embedded?.stop()
                if let d = TestDatabase.embedded?.dataDirectory { try? FileManager.default.removeItem(atPath: d) }
            }
            return cs
        } catch {
            fatalError("no SHADOWGATE_TEST_DATABASE_URL and the embedded cluster could not start: \(error)")
        }
    }()
    nonisolated(unsafe) static var embedded: EmbeddedPostgres?

    /// Creates an empty database and returns its connection string.
    static func fresh(_ prefix: String = "t") throws -> String {
        let name = "sg_\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PGConnection(connectionString: serverURL)
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(PGConnection.quoteIdentifier(name))")
        return try PGConnectionString.overriding(serverURL, with: ["dbname": name])
    }

    /// A fresh database with the migrations applied.
    static func migrated(_ prefix: String = "t") throws -> String {
        let cs = try fresh(prefix)
        try MigrationRunner(directory: migrationsDirectory).migrate(connectionString: cs)
        return cs
    }

    /// `migrations/` of this package, found from this source file's path.
    static let migrationsDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("migrations").path
    }()

    /// One directory per test process for spools and scratch files, removed at exit.
    static let scratchRoot: String = {
        let d = NSTemporaryDirectory() + "shadowgate-pairlog-tests-\(getpid())-scratch"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestDatabase.scratchRoot) }
        return d
    }()

    static func tempDir(_ name: String) -> String {
        let d = scratchRoot + "/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}

/// Runs blocking work (libpq, pg_ctl) on a thread of its own, keeping the cooperative pool free.
@discardableResult
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: @Sendable () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}
