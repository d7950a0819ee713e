import Foundation
import LibPQ
import ShadowGatePairLog
import ShadowGateTesting
import Testing

@Suite struct MigrationRunnerTests {
    @Test func appliesInOrderAndASecondRunDoesNothing() async throws {
        let cs = try await TestDatabase.fresh("mig")
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
        let cs = try await TestDatabase.fresh("migc")
        let runner = MigrationRunner(directory: TestDatabase.migrationsDirectory)
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 { group.addTask { try await onThread { try runner.migrate(connectionString: cs).map(\.version) } } }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        let all = results.flatMap { $0 }.sorted()
        #expect(all == (try runner.loadMigrations()).map(\.version))  // each applied by exactly one runner
    }

    @Test func aFailingMigrationRollsBackAndSaysWhich() async throws {
        let cs = try await TestDatabase.fresh("migbad")
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

    @Test func functionFilesAreAppliedAfterTheMigrationsAndAgainWhenTheirTextChanges() async throws {
        let cs = try await TestDatabase.fresh("migfn")
        let dir = TestDatabase.tempDir("migrations")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/functions", withIntermediateDirectories: true)
        try "CREATE TABLE shadowgate.applied (file text);".write(toFile: dir + "/0001_log.sql", atomically: true, encoding: .utf8)
        // b.sql uses a.sql's function in a view (so name order matters) and logs each application
        @Sendable func write(_ answer: Int) throws {
            try """
                CREATE OR REPLACE FUNCTION shadowgate.answer() RETURNS int LANGUAGE sql AS $$ SELECT \(answer) $$;
                INSERT INTO shadowgate.applied VALUES ('a');
                """.write(toFile: dir + "/functions/a.sql", atomically: true, encoding: .utf8)
        }
        try write(1)
        try """
            CREATE OR REPLACE VIEW shadowgate.answers AS SELECT shadowgate.answer() AS answer;
            INSERT INTO shadowgate.applied VALUES ('b');
            """.write(toFile: dir + "/functions/b.sql", atomically: true, encoding: .utf8)
        try "not a function file".write(toFile: dir + "/functions/README.md", atomically: true, encoding: .utf8)
        let runner = MigrationRunner(directory: dir)
        @Sendable func state() throws -> [String?] {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("""
                SELECT (SELECT answer FROM shadowgate.answers)::text,
                       (SELECT string_agg(file, ',' ORDER BY ctid) FROM shadowgate.applied),
                       (SELECT string_agg(file, ',' ORDER BY file) FROM shadowgate.schema_functions)
                """).rows[0]
        }
        let (first, unchanged, changed) = try await onThread {
            try runner.migrate(connectionString: cs)
            let first = try state()
            try runner.migrate(connectionString: cs)
            let unchanged = try state()
            try write(2)
            try runner.migrate(connectionString: cs)
            return (first, unchanged, try state())
        }
        #expect(first == ["1", "a,b", "a.sql,b.sql"])
        #expect(unchanged == first)  // same text: not applied again
        #expect(changed == ["2", "a,b,a,b", "a.sql,b.sql"])  // one file changed: all re-applied, in name order
    }

    @Test func aFailingFunctionFileRollsBackEveryFunctionFileAndSaysWhich() async throws {
        let cs = try await TestDatabase.fresh("migfnbad")
        let dir = TestDatabase.tempDir("migrations")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/functions", withIntermediateDirectories: true)
        try "CREATE TABLE ok1 (id int);".write(toFile: dir + "/0001_ok.sql", atomically: true, encoding: .utf8)
        try "CREATE FUNCTION good() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;"
            .write(toFile: dir + "/functions/a_good.sql", atomically: true, encoding: .utf8)
        try "SELECT 1/0;".write(toFile: dir + "/functions/b_broken.sql", atomically: true, encoding: .utf8)
        let runner = MigrationRunner(directory: dir)
        let error = await #expect(throws: PairLogError.self) { try await onThread { try runner.migrate(connectionString: cs) } }
        #expect(error?.code == .migrationFailed)
        #expect(error?.description.contains("functions/b_broken.sql") == true)
        let state = try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("""
                SELECT to_regclass('ok1') IS NOT NULL, to_regprocedure('good()') IS NOT NULL,
                       (SELECT count(*) FROM shadowgate.schema_functions)
                """).rows[0]
        }
        #expect(state == ["t", "f", "0"])  // the numbered migration stays applied
    }

    @Test func anEditedMigrationWithASupersededChecksumIsAcceptedAndRecorded() async throws {
        let cs = try await TestDatabase.fresh("migsup")
        let dir = TestDatabase.tempDir("migrations")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = "CREATE TABLE t1 (id int); CREATE FUNCTION f1() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;"
        let after = "CREATE TABLE t1 (id int);"
        let other = "CREATE TABLE t2 (id int);"
        try before.write(toFile: dir + "/0001_t1.sql", atomically: true, encoding: .utf8)
        try other.write(toFile: dir + "/0002_t2.sql", atomically: true, encoding: .utf8)
        let runner = MigrationRunner(directory: dir)
        let (again, recorded) = try await onThread {
            try runner.migrate(connectionString: cs)
            try after.write(toFile: dir + "/0001_t1.sql", atomically: true, encoding: .utf8)
            try "CREATE TABLE t2 (id bigint);".write(toFile: dir + "/0002_t2.sql", atomically: true, encoding: .utf8)
            try "# edited on purpose\n0001 \(Migration.checksum(of: before))  # 0001_t1.sql\n"
                .write(toFile: dir + "/superseded_checksums.txt", atomically: true, encoding: .utf8)
            let again = try runner.migrate(connectionString: cs)
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return (again, try c.execute("SELECT version, checksum FROM shadowgate.schema_migrations ORDER BY version").rows)
        }
        #expect(again.isEmpty)
        // 0001: the superseded text's checksum replaced by today's; 0002 (changed, not listed): kept, only a warning
        #expect(recorded == [["1", Migration.checksum(of: after)], ["2", Migration.checksum(of: other)]])
    }

    @Test func aMalformedSupersededChecksumsFileIsAClearError() throws {
        let dir = TestDatabase.tempDir("migrations")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "0001 abc extra\n".write(toFile: dir + "/superseded_checksums.txt", atomically: true, encoding: .utf8)
        let e = #expect(throws: PairLogError.self) { try MigrationRunner(directory: dir).loadSupersededChecksums() }
        #expect(e?.code == .invalidMigration)
    }

    @Test func theShippedSupersededChecksumsAreThoseOfTheFrozenOldMigrations() throws {
        let superseded = try MigrationRunner(directory: TestDatabase.migrationsDirectory).loadSupersededChecksums()
        let old = try MigrationRunner(directory: MigrationUpgradeTests.oldMigrationsDirectory).loadMigrations()
        let current = try MigrationRunner(directory: TestDatabase.migrationsDirectory).loadMigrations()
        for m in old {
            let now = current.first { $0.version == m.version }
            if now?.checksum == m.checksum { continue }
            #expect(superseded[m.version]?.contains(m.checksum) == true, "\(m.version) edited but its old checksum is not listed")
        }
        #expect(superseded.keys.sorted() == [2, 3, 4, 5, 6])
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
