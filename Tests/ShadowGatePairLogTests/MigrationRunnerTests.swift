import Foundation
import LibPQ
import ShadowGatePairLog
import ShadowGateTesting
import Testing

@Suite struct MigrationRunnerTests {
    @Test func appliesInOrderAndASecondRunDoesNothing() async throws {
        let cs = try TestDatabase.fresh("mig")
        let runner = MigrationRunner(directory: TestDatabase.migrationsDirectory)
        let (first, second, recorded, partitions) = try await onThread {
            let first = try runner.migrate(connectionString: cs)
            let second = try runner.migrate(connectionString: cs)
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            let recorded = try c.execute("SELECT version FROM shadowgate.schema_migrations ORDER BY version").rows.map { $0[0]! }
            let partitions = try c.execute("""
                SELECT count(*) FROM pg_inherits WHERE inhparent = 'shadowgate.pairs'::regclass
                """).scalar
            return (first.map(\.version), second, recorded, partitions)
        }
        #expect(first == (try runner.loadMigrations()).map(\.version))
        #expect(first.first == 1 && first == first.sorted())
        #expect(second.isEmpty)
        #expect(recorded == first.map(String.init))
        #expect(Int(partitions ?? "0")! >= 5)  // default + yesterday…today+3
    }

    @Test func concurrentRunnersApplyEachMigrationOnce() async throws {
        let cs = try TestDatabase.fresh("migc")
        let runner = MigrationRunner(directory: TestDatabase.migrationsDirectory)
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 { group.addTask { try await onThread { try runner.migrate(connectionString: cs).map(\.version) } } }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        let all = results.flatMap { $0 }.sorted()
        #expect(all == (try runner.loadMigrations()).map(\.version))  // each applied by exactly one runner
    }

    @Test func aFailingMigrationRollsBackAndSaysWhich() async throws {
        let cs = try TestDatabase.fresh("migbad")
        let dir = TestDatabase.tempDir("migrations")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "CREATE TABLE ok1 (id int);".write(toFile: dir + "/0001_ok.sql", atomically: true, encoding: .utf8)
        try "CREATE TABLE half (id int); SELECT 1/0;".write(toFile: dir + "/0002_broken.sql", atomically: true, encoding: .utf8)
        try "not a migration".write(toFile: dir + "/README.md", atomically: true, encoding: .utf8)
        let runner = MigrationRunner(directory: dir)
        let error = await #expect(throws: PairLogError.self) { try await onThread { try runner.migrate(connectionString: cs) } }
        #expect(error?.code == .migrationFailed)
        #expect(error?.description.contains("0002_broken") == true)
        #expect(error?.description.contains("22012") == true)
        let tables = try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("SELECT to_regclass('ok1') IS NOT NULL, to_regclass('half') IS NOT NULL").rows[0]
        }
        #expect(tables == ["t", "f"])
    }

    @Test func missingDirectoryIsAClearError() {
        let e = #expect(throws: PairLogError.self) { try MigrationRunner(directory: "/nonexistent/migrations").loadMigrations() }
        #expect(e?.code == .migrationsNotFound)
        #expect(e?.description.contains("SHADOWGATE_MIGRATIONS_DIR") == true)
    }

    @Test func fileNamesParse() {
        #expect(Migration.parseFileName("0001_pairs.sql")! == (1, "pairs"))
        #expect(Migration.parseFileName("12-labels.sql")! == (12, "labels"))
        #expect(Migration.parseFileName("pairs.sql") == nil)
        #expect(Migration.parseFileName("0003_x.sql.bak") == nil)
    }
}
