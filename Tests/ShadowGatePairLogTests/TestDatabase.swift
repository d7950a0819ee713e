import Foundation
import LibPQ
import ShadowGatePairLog
import ShadowGateTesting

/// The pair-log tests' database helpers: PostgreSQL from ``TestPostgres`` (ShadowGateTesting),
/// plus scratch directories of their own.
enum TestDatabase {
    static var serverURL: String { TestPostgres.serverURL }
    static func fresh(_ prefix: String = "t") throws -> String { try TestPostgres.fresh(prefix) }
    static func migrated(_ prefix: String = "t") throws -> String { try TestPostgres.migrated(prefix) }
    /// The two above on a thread of their own, for async tests (see ``TestPostgres``).
    static func fresh(_ prefix: String = "t") async throws -> String { try await TestPostgres.fresh(prefix) }
    static func migrated(_ prefix: String = "t") async throws -> String { try await TestPostgres.migrated(prefix) }
    static var migrationsDirectory: String { TestPostgres.migrationsDirectory }

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

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: @Sendable () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}
