import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// shadowgate.evidence_counts() (migrations/functions/evidence.sql) against a recount
/// in Swift of the same generated pairs.
@Suite struct EvidenceCountsSQLTests {
    /// Request i, received at 2026-01-01 + i s: label 1 for even i, none when i % 3 == 0; legacy right
    /// unless i % 5 == 0, learner right unless i % 7 == 0; learner skipped when i % 13 == 0, learner
    /// http_error when i % 17 == 0, learner timeout when i % 19 == 0, legacy unreachable when i % 23 == 0;
    /// class labels (not scores) for i % 4 == 1.
    static let sql = """
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
            legacy_score, learner_score, legacy_label, learner_label, learner_version)
        SELECT 'ev-' || i, 'ev', timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second', 'legacy', 'shadow',
               CASE WHEN i % 23 = 0 THEN 'unreachable' ELSE 'ok' END,
               CASE WHEN i % 13 = 0 THEN 'skipped' WHEN i % 17 = 0 THEN 'http_error' WHEN i % 19 = 0 THEN 'timeout' ELSE 'ok' END,
               CASE WHEN i % 4 = 1 THEN NULL WHEN (i % 2 = 0) <> (i % 5 = 0) THEN 0.9 ELSE 0.1 END,
               CASE WHEN i % 4 = 1 THEN NULL WHEN (i % 2 = 0) <> (i % 7 = 0) THEN 0.9 ELSE 0.1 END,
               CASE WHEN i % 4 <> 1 THEN NULL WHEN (i % 2 = 0) <> (i % 5 = 0) THEN 'one' ELSE 'zero' END,
               CASE WHEN i % 4 <> 1 THEN NULL WHEN (i % 2 = 0) <> (i % 7 = 0) THEN 'one' ELSE 'zero' END,
               'v' || (i / 100)
        FROM generate_series(0, 399) i;
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'ev-' || i, 'ev', CASE WHEN i % 4 = 1 THEN (CASE WHEN i % 2 = 0 THEN 'one' ELSE 'zero' END)
                                      ELSE (CASE WHEN i % 2 = 0 THEN '1' ELSE '0' END) END
        FROM generate_series(0, 399) i WHERE i % 3 <> 0;
        """

    struct Expected: Equatable {
        var pairs = 0, learnerErrors = 0, legacyErrors = 0, bothErrors = 0, learnerTimeouts = 0
        var labelled = 0, learnerOnly = 0, legacyOnly = 0, bothRight = 0
    }

    /// The counts by the rules above, for pairs in (p0, p1] and labelled in (l0, l1] (seconds after the base).
    static func expected(pairs p: ClosedRange<Int>, labelled l: ClosedRange<Int>) -> Expected {
        var e = Expected()
        for i in 0..<400 where i % 13 != 0 {
            let legacyError = i % 23 == 0
            let learnerError = i % 17 == 0
            let learnerTimeout = !learnerError && i % 19 == 0
            if p.contains(i) {
                e.pairs += 1
                if learnerError { e.learnerErrors += 1 }
                if legacyError { e.legacyErrors += 1 }
                if learnerError && legacyError { e.bothErrors += 1 }
                if learnerTimeout { e.learnerTimeouts += 1 }
            }
            if l.contains(i), i % 3 != 0 {
                e.labelled += 1
                let legacyRight = !legacyError && i % 5 != 0
                let learnerRight = !learnerError && !learnerTimeout && i % 7 != 0
                if learnerRight && !legacyRight { e.learnerOnly += 1 }
                if legacyRight && !learnerRight { e.legacyOnly += 1 }
                if legacyRight && learnerRight { e.bothRight += 1 }
            }
        }
        return e
    }

    @Test func countsEqualARecountOverTwoRanges() async throws {
        let (row, version) = try await onThread {
            let cs = try TestDatabase.migrated("evidence")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript(Self.sql)
            // pairs in (10 s, 250 s], labelled in (50 s, 380 s] after the base
            let result = try c.execute("""
                SELECT pairs, learner_errors, legacy_errors, both_errors, learner_timeouts,
                       labelled, learner_only_right, legacy_only_right, both_right, learner_version
                FROM shadowgate.evidence_counts('ev',
                    timestamptz '2026-01-01 00:00:50+00', timestamptz '2026-01-01 00:06:20+00',
                    timestamptz '2026-01-01 00:00:10+00', timestamptz '2026-01-01 00:04:10+00')
                """)
            return (result.rows[0].prefix(9).map { Int($0 ?? "") ?? -1 }, result.rows[0][9])
        }
        let e = Self.expected(pairs: 11...250, labelled: 51...380)
        #expect(row == [e.pairs, e.learnerErrors, e.legacyErrors, e.bothErrors, e.learnerTimeouts,
                        e.labelled, e.learnerOnly, e.legacyOnly, e.bothRight])
        #expect(e.learnerOnly > 0 && e.legacyOnly > 0 && e.bothErrors >= 0 && e.learnerTimeouts > 0)
        #expect(version == "v2")  // request 250, the latest of the pairs range
    }
}
