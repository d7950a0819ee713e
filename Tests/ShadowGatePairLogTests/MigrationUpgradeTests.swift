import Foundation
import LibPQ
import ShadowGatePairLog
import ShadowGateTesting
import Testing

/// A database created by the migrations as they were at commit 85424dd (0001–0006 with the
/// function definitions inside them; frozen in `Fixtures/migrations-at-0006/`) upgrades to
/// today's layout (`migrations/functions/`) without losing a row, and `compare()`,
/// `compare_series()` and `feature_drift()` give the same numbers before and after.
@Suite struct MigrationUpgradeTests {
    /// `Fixtures/migrations-at-0006/` next to this file.
    static let oldMigrationsDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Fixtures/migrations-at-0006").path
    }()

    /// Pairs over the last 100 minutes on two routes (scores that repeat and scores that do not,
    /// every outcome, features), labels for some, a roll-up (as the running writer would have
    /// done), then late rows older than the watermark.
    static let dataSQL = """
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, canary_percent,
            legacy_status, learner_status, legacy_latency_us, learner_latency_us, legacy_outcome, learner_outcome,
            legacy_score, learner_score, legacy_label, learner_label, features, features_truncated)
        SELECT 'u' || g, CASE WHEN g % 3 = 0 THEN 'cls' ELSE 'num' END,
               now() - interval '100 minutes' + g * interval '1 second', 'legacy', 'shadow', 0,
               200, CASE WHEN g % 37 = 0 THEN 500 ELSE 200 END,
               800 + (g % 97) * 11, 1200 + (g % 89) * 13,
               CASE WHEN g % 53 = 0 THEN 'timeout' ELSE 'ok' END,
               CASE WHEN g % 37 = 0 THEN 'http_error' WHEN g % 41 = 0 THEN 'skipped' ELSE 'ok' END,
               CASE WHEN g % 3 = 0 THEN NULL ELSE (hashint4(g) & 255) / 255.0 END,
               CASE WHEN g % 3 = 0 THEN NULL WHEN g % 2 = 0 THEN random() ELSE (hashint4(g + 7) & 255) / 255.0 END,
               CASE WHEN g % 3 = 0 THEN (ARRAY['cat', 'dog', 'cow'])[1 + g % 3 + (g / 3) % 2] END,
               CASE WHEN g % 3 = 0 THEN (ARRAY['cat', 'dog', 'cow'])[1 + (g / 3) % 3] END,
               jsonb_build_array(jsonb_build_array(g % 17, (g % 101) / 10.0, (ARRAY['a', 'b'])[1 + g % 2])), false
        FROM generate_series(1, 5400) g;
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'u' || g, CASE WHEN g % 3 = 0 THEN 'cls' ELSE 'num' END,
               CASE WHEN g % 3 = 0 THEN (ARRAY['cat', 'dog', 'cow'])[1 + (g / 7) % 3] ELSE ((hashint4(g + 3) & 1))::text END
        FROM generate_series(1, 5400, 4) g;
        SELECT shadowgate.roll_up_counts();
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
            legacy_score, learner_score, legacy_latency_us, learner_latency_us)
        SELECT 'late' || g, 'num', now() - interval '90 minutes' + g * interval '7 seconds', 'legacy', 'shadow', 'ok', 'ok',
               (g % 10) / 10.0, (g % 7) / 7.0, 900 + g, 1300 + g
        FROM generate_series(1, 200) g;
        """

    /// Every number the comparison functions give on the data, as text (rows in a fixed order).
    /// Without parallel workers: a parallel plan sums `mean_abs_score_diff` in another order.
    static func comparisonResults(_ c: PGConnection) throws -> [String: [[String?]]] {
        try c.execute("SET max_parallel_workers_per_gather = 0")
        var out: [String: [[String?]]] = [:]
        for route in ["cls", "num", "none"] {
            out["compare \(route)"] = try c.execute("SELECT * FROM shadowgate.compare($1, '1 day')", [route]).rows
            out["compare tolerance \(route)"] = try c.execute(
                "SELECT * FROM shadowgate.compare($1, '1 day', tolerance => 0.2, threshold => 0.3)", [route]).rows
            out["series \(route)"] = try c.execute("""
                SELECT * FROM shadowgate.compare_series($1, '1 day', '6 hours') WHERE pairs > 0
                """, [route]).rows
            out["drift \(route)"] = try c.execute("""
                WITH t AS (SELECT min(received_at) AS t0, max(received_at) AS t1 FROM shadowgate.pairs)
                SELECT d.* FROM t, shadowgate.feature_drift($1, tstzrange(t0, t0 + interval '50 minutes'),
                                                              tstzrange(t0 + interval '50 minutes', t1, '[]')) d
                ORDER BY d.feature
                """, [route]).rows
        }
        out["counts"] = try c.execute("""
            SELECT (SELECT count(*) FROM shadowgate.pairs), (SELECT count(*) FROM shadowgate.pair_stats),
                   (SELECT count(*) FROM shadowgate.labels), (SELECT sum(n) FROM shadowgate.pair_value_counts),
                   (SELECT string_agg(route || '@' || rolled_until, ',' ORDER BY route) FROM shadowgate.rollup_watermarks)
            """).rows
        return out
    }

    /// Functions (with their full definitions), types and triggers of schema `shadowgate`.
    static func schemaObjects(_ c: PGConnection) throws -> [[String?]] {
        try c.execute("""
            SELECT 'function', p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid))
            FROM pg_proc p WHERE p.pronamespace = 'shadowgate'::regnamespace
            UNION ALL
            SELECT 'type', t.typname, (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                       FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0)
            FROM pg_type t JOIN pg_class r ON r.oid = t.typrelid
            WHERE t.typnamespace = 'shadowgate'::regnamespace AND r.relkind = 'c'
            UNION ALL
            SELECT 'trigger', tg.tgname, pg_get_triggerdef(tg.oid)
            FROM pg_trigger tg JOIN pg_class r ON r.oid = tg.tgrelid
            WHERE r.relnamespace = 'shadowgate'::regnamespace AND NOT tg.tgisinternal AND r.relispartition = false
            ORDER BY 1, 2
            """).rows
    }

    /// Equal text, or numbers equal to 1e-12 relative: PostgreSQL's parallel sums may add in another
    /// order when the plan changes (migrations after 0006 change the tables compare() joins), which
    /// moves the last digit of a double (documented for mean_abs_score_diff, ≤ 5e-13 relative).
    static func sameNumbers(_ a: [[String?]]?, _ b: [[String?]]) -> Bool {
        guard let a, a.count == b.count else { return false }
        for (rowA, rowB) in zip(a, b) {
            guard rowA.count == rowB.count else { return false }
            for (x, y) in zip(rowA, rowB) where x != y {
                guard let x, let y, let dx = Double(x), let dy = Double(y),
                      abs(dx - dy) <= 1e-12 * max(abs(dx), abs(dy)) else { return false }
            }
        }
        return true
    }

    @Test func aDatabaseAt0006UpgradesAndCompareGivesTheSameNumbers() async throws {
        let runner = MigrationRunner(directory: TestDatabase.migrationsDirectory)
        let result = try await onThread {
            let old = try TestDatabase.fresh("upgrade")
            let fresh = try TestDatabase.migrated("upgradefresh")
            // the old layout, applied and recorded as the runner of 85424dd did
            let oldApplied = try MigrationRunner(directory: Self.oldMigrationsDirectory).migrate(connectionString: old)
            let c = try PGConnection(connectionString: old)
            defer { c.close() }
            try c.executeScript(Self.dataSQL)
            let before = try Self.comparisonResults(c)
            let oldCompare = try c.execute("SELECT prosrc FROM pg_proc WHERE proname = 'compare_window'").scalar

            let upgraded = try runner.migrate(connectionString: old)
            let after = try Self.comparisonResults(c)
            let checksums = try c.execute("SELECT version, checksum FROM shadowgate.schema_migrations ORDER BY version").rows
            let functionFiles = try c.execute("SELECT file, checksum FROM shadowgate.schema_functions ORDER BY file").rows
            let again = try runner.migrate(connectionString: old)
            let appliedAtUnchanged = try c.execute("SELECT count(*) FROM shadowgate.schema_functions WHERE applied_at < now()").scalar

            // the upgraded schema is the schema a new database gets
            let f = try PGConnection(connectionString: fresh)
            defer { f.close() }
            return (oldApplied.map(\.version), before, after, upgraded, checksums, functionFiles, again,
                    appliedAtUnchanged, oldCompare, try Self.schemaObjects(c), try Self.schemaObjects(f))
        }
        let (oldApplied, before, after, upgraded, checksums, functionFiles, again, appliedAtUnchanged, oldCompare,
             upgradedSchema, freshSchema) = result
        #expect(oldApplied == [1, 2, 3, 4, 5, 6])
        #expect(oldCompare?.contains("pair_value_counts") == true)  // 0006's compare_window was in place

        // no row lost, every number the same
        #expect(before["counts"]?.first?[0] == "5600" && before["counts"]?.first?[2] == "1350")
        #expect(before["compare num"]?.first?[0] == "3800")
        #expect((before["drift cls"]?.count ?? 0) >= 3)
        for (key, rows) in before {
            // columns added to the comparison row since 0006 (issue 12's regression columns) come after the old ones
            let width = rows.first?.count ?? 0
            #expect(Self.sameNumbers(after[key]?.map { Array($0.prefix(width)) }, rows), "\(key) changed across the upgrade")
        }
        #expect(after.count == before.count)

        // only the migrations after 0006 applied; the edited files' superseded checksums replaced by today's
        let current = try runner.loadMigrations()
        #expect(upgraded.map(\.version) == current.map(\.version).filter { $0 > 6 })
        #expect(again.isEmpty)
        #expect(checksums == current.map { [String($0.version), $0.checksum] })
        let files = try runner.loadFunctionFiles()
        #expect(functionFiles == files.map { [$0.name, $0.checksum] })
        #expect(files.map(\.name).contains("compare.sql"))
        #expect(appliedAtUnchanged == String(files.count))  // the second run re-applied nothing

        #expect(upgradedSchema == freshSchema)
        #expect(upgradedSchema.contains { $0[0] == "type" && $0[1] == "comparison" })
        let triggers = Set(upgradedSchema.filter { $0[0] == "trigger" }.map { $0[1] })
        #expect(triggers == [
            "flags_fence", "flags_notify", "label_delivery_fence", "labels_fill_value", "labels_reorder_changed",
            "pairs_fill_stats", "rollout_events_fence", "rollout_state_fence",
        ], "\(triggers)")
    }

    @Test func rowsWrittenAfterTheUpgradeAreComparedAsOnANewDatabase() async throws {
        let (upgraded, new) = try await onThread {
            let old = try TestDatabase.fresh("upgradew")
            let fresh = try TestDatabase.migrated("upgradewfresh")
            try MigrationRunner(directory: Self.oldMigrationsDirectory).migrate(connectionString: old)
            try MigrationRunner(directory: TestDatabase.migrationsDirectory).migrate(connectionString: old)
            var results: [[String: [[String?]]]] = []
            for cs in [old, fresh] {
                let c = try PGConnection(connectionString: cs)
                defer { c.close() }
                try c.executeScript(Self.dataSQL.replacingOccurrences(of: "random()", with: "(hashint4(g + 11) & 65535) / 65535.0"))
                try c.execute("SELECT shadowgate.roll_up_counts()")
                // the series' buckets and the watermark depend on when the rows were written
                var r = try Self.comparisonResults(c).filter { !$0.key.hasPrefix("series") }
                r["counts"] = r["counts"]?.map { Array($0.prefix(3)) }  // pairs, pair_stats, labels
                results.append(r)
            }
            return (results[0], results[1])
        }
        #expect(upgraded["counts"]?.first?[1] == "5600")  // the trigger on pairs fills pair_stats
        #expect(upgraded.count == 10)
        #expect(Set(upgraded.keys) == Set(new.keys))
        // numbers may differ in the last bits: sums of doubles follow the order rows are read in,
        // which follows the plan, and autovacuum's statistics can change it between two databases
        // (seen once under load: 0.33063918551241855 vs …844)
        for (key, rows) in new {
            #expect(Self.sameNumbers(upgraded[key], rows), "\(key): \(String(describing: upgraded[key])) vs \(rows)")
        }
    }
}
