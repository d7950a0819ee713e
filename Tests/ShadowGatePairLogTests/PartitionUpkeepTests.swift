import LibPQ
import ShadowGateTesting
import Testing

/// `ensure_partitions` and `drop_partitions_older_than` keep `pair_stats` (0005) partitioned like
/// `pairs`: the same days are created, moved out of the default partition and dropped together.
@Suite struct PartitionUpkeepTests {
    @Test func pairStatsPartitionsFollowThePairsPartitions() async throws {
        let (before, after, moved) = try await onThread {
            let cs = try TestDatabase.migrated("parts")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            // A pair 40 days ago lands in both default partitions (no day partition that old).
            try c.executeScript("""
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome, legacy_score)
                VALUES ('old', 'r', now() - interval '40 days', 'legacy', 'shadow', 'ok', 'ok', 0.25);
                SELECT shadowgate.ensure_partitions(0, 40);
                """)
            let parts = """
                SELECT count(*) FILTER (WHERE c.relname ~ '^pairs_p'), count(*) FILTER (WHERE c.relname ~ '^pair_stats_p')
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent IN ('shadowgate.pairs'::regclass, 'shadowgate.pair_stats'::regclass)
                """
            let before = try c.execute(parts).rows[0]
            // The old row moved out of both default partitions into its day's partitions.
            let moved = try c.execute("""
                SELECT (SELECT count(*) FROM shadowgate.pairs_default) + (SELECT count(*) FROM shadowgate.pair_stats_default),
                       (SELECT legacy_score FROM shadowgate.pair_stats WHERE request_id = 'old')
                """).rows[0]
            try c.execute("SELECT shadowgate.drop_partitions_older_than(30)")
            let after = try c.execute(parts).rows[0]
            return (before, after, moved)
        }
        #expect(before[0] == before[1] && Int(before[0] ?? "0")! >= 41)
        #expect(moved == ["0", "0.25"])
        #expect(after[0] == after[1] && Int(after[0] ?? "0")! == Int(before[0]!)! - 10)
    }
}
