import Foundation
import LibPQ
import ShadowGateEvidence
import ShadowGateTesting
import Testing

/// shadowgate.regression_evidence() (migrations/functions/evidence.sql) against
/// QuantizedDifferenceEvidence built in Swift from the same generated pairs.
@Suite struct RegressionEvidenceSQLTests {
    /// Request i (0…299), received at 2026-01-01 + i s: label (i % 17) / 2; legacy off by
    /// ((7i) % 11 − 5) · 0.3, learner by ((5i) % 13 − 6) · 0.25, and by 20 more when i % 50 = 0 (beyond
    /// the clip); the learner timed out when i % 29 = 0; no label when i % 31 = 0; a class label
    /// ('cat', no number) when i % 37 = 0.
    static let sql = """
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
            legacy_score, learner_score)
        SELECT 'rg-' || i, 'rg', timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second', 'legacy', 'shadow', 'ok',
               CASE WHEN i % 29 = 0 THEN 'timeout' ELSE 'ok' END,
               (i % 17) / 2.0 + ((7 * i) % 11 - 5) * 0.3,
               (i % 17) / 2.0 + ((5 * i) % 13 - 6) * 0.25 + CASE WHEN i % 50 = 0 THEN 20 ELSE 0 END
        FROM generate_series(0, 299) i;
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'rg-' || i, 'rg', CASE WHEN i % 37 = 0 THEN 'cat' ELSE ((i % 17) / 2.0)::text END
        FROM generate_series(0, 299) i WHERE i % 31 <> 0;
        """

    static func expected(from: Int, to: Int, clip: Double, power: Int) -> QuantizedDifferenceEvidence {
        var e = QuantizedDifferenceEvidence(limit: pow(clip, Double(power)))
        for i in (from + 1)...to where i % 29 != 0 && i % 31 != 0 && i % 37 != 0 {
            let label = Double(i % 17) / 2.0
            let legacy = label + Double((7 * i) % 11 - 5) * 0.3
            let learner = label + Double((5 * i) % 13 - 6) * 0.25 + (i % 50 == 0 ? 20 : 0)
            let el = min(abs(legacy - label), clip), er = min(abs(learner - label), clip)
            e.add(power == 1 ? er - el : er * er - el * el)
        }
        return e
    }

    @Test func bucketsAndSumsEqualSwiftsOnTheSamePairs() async throws {
        let rows = try await onThread {
            let cs = try TestDatabase.migrated("regev")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript(Self.sql)
            return try c.execute("""
                SELECT power, bucket, n, sum_d, sum_d2 FROM shadowgate.regression_evidence('rg',
                    timestamptz '2026-01-01 00:00:00+00' + interval '10 seconds', timestamptz '2026-01-01 00:00:00+00' + interval '250 seconds', 3)
                """)
        }
        for power in [1, 2] {
            let want = Self.expected(from: 10, to: 250, clip: 3, power: power)
            var got = QuantizedDifferenceEvidence(limit: pow(3, Double(power)))
            for row in rows.rows.indices where rows.value("power", row: row) == String(power) {
                got.add(bucket: Int(rows.value("bucket", row: row)!)!, count: Double(rows.value("n", row: row)!)!,
                        sum: Double(rows.value("sum_d", row: row)!)!, sumOfSquares: Double(rows.value("sum_d2", row: row)!)!)
            }
            #expect(got.counts == want.counts, "power \(power)")
            #expect(abs(got.sum - want.sum) < 1e-9 && abs(got.sumOfSquares - want.sumOfSquares) < 1e-7)
            #expect(got.count == want.count && want.count > 150)
            #expect(got.counts.keys.contains(power == 1 ? 128 : 128))  // the clipped errors sit in the top bucket
            #expect(got.upperBound(alpha: 0.05) == want.upperBound(alpha: 0.05))
        }
    }
}
