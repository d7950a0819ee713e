import Foundation
import LibPQ
import ShadowGatePairLog
import ShadowGateTesting
import Testing

@Suite struct EmbeddedMigrationsTests {
    @Test("the migrations compiled into the binary equal migrations/ (else run Scripts/dev/embed-migrations.py)")
    func embeddedCopyIsFresh() throws {
        let onDisk = try MigrationSource.directory(TestDatabase.migrationsDirectory).files()
        let embedded = try MigrationSource.embedded.files()
        #expect(embedded.map(\.relativePath) == onDisk.map(\.relativePath),
                "Sources/ShadowGatePairLog/EmbeddedMigrations.swift is stale: run Scripts/dev/embed-migrations.py")
        for (a, b) in zip(embedded, onDisk) {
            #expect(a.sql == b.sql, "\(a.relativePath) differs from its embedded copy: run Scripts/dev/embed-migrations.py")
        }
        #expect(onDisk.contains { $0.relativePath.hasPrefix("functions/") }, "subfolders are embedded with their relative paths")
    }

    @Test("without a directory the runner uses the embedded migrations")
    func runnerDefaultsToEmbedded() throws {
        guard ProcessInfo.processInfo.environment[MigrationRunner.directoryEnvironmentVariable] == nil else { return }
        #expect(MigrationRunner().source == .embedded)
        let embedded = try MigrationRunner().loadMigrations()
        let onDisk = try MigrationRunner(directory: TestDatabase.migrationsDirectory).loadMigrations()
        #expect(embedded == onDisk)
        #expect(!embedded.isEmpty)
    }

    @Test("every unique key of the pair and label tables holds request_id (a Citus distribution column)")
    func citusReady() async throws {
        let cs = try await TestDatabase.migrated("citus")
        let rows = try await onThread { () -> [[String?]] in
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("""
                SELECT t.relname, i.relname,
                       bool_or(a.attname = 'request_id') AS has_request_id
                FROM pg_index x
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'shadowgate'
                JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (x.indkey)
                WHERE x.indisunique AND (t.relname IN ('pairs', 'labels', 'pair_stats')
                      OR t.relname LIKE 'pairs\\_%' OR t.relname LIKE 'pair\\_stats\\_%')
                GROUP BY t.relname, i.relname
                """).rows
        }
        #expect(rows.contains { $0[0] == "pairs" })
        #expect(rows.contains { $0[0] == "labels" })
        for row in rows {
            #expect(row[2] == "t", "unique index \(row[1] ?? "") on \(row[0] ?? "") lacks request_id")
        }
    }
}
