import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// compare()'s regression columns (MAE, RMSE, paired error differences and their standard errors)
/// against NumPy/SciPy on the fixture cases of `Scripts/stats-fixtures/make_fixtures.py`
/// (`regression` in compare_stats.json): each case is written as pairs and numeric labels of its
/// own route and read back through compare() and compare_series().
@Suite struct RegressionCompareSQLTests {
    static let columns = ["legacy_mae", "learner_mae", "legacy_rmse", "learner_rmse",
                          "abs_error_diff", "abs_error_diff_se", "sq_error_diff", "sq_error_diff_se"]

    /// Inserts each case as route `reg-<name>`: request i has legacy[i], learner[i] as scores and
    /// label[i] as its label text (label_value is parsed from it by the labels trigger); one more
    /// pair per route without a label and one where the learner timed out, which must not count.
    static let insertSQL = """
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
            legacy_score, learner_score)
        SELECT 'reg-' || (c->>'name') || '-' || i, 'reg-' || (c->>'name'), now() - interval '10 minutes' + i * interval '1 ms',
               'legacy', 'shadow', 'ok', 'ok', (c->'legacy'->>i)::float8, (c->'learner'->>i)::float8
        FROM jsonb_array_elements($1::jsonb -> 'regression') c,
             generate_series(0, jsonb_array_length(c->'label') - 1) i;
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'reg-' || (c->>'name') || '-' || i, 'reg-' || (c->>'name'), c->'label'->>i
        FROM jsonb_array_elements($1::jsonb -> 'regression') c,
             generate_series(0, jsonb_array_length(c->'label') - 1) i;
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
            legacy_score, learner_score)
        SELECT 'reg-' || (c->>'name') || '-' || x, 'reg-' || (c->>'name'), now() - interval '5 minutes',
               'legacy', 'shadow', 'ok', CASE WHEN x = 'timeout' THEN 'timeout' ELSE 'ok' END, 1000, 1000
        FROM jsonb_array_elements($1::jsonb -> 'regression') c, (VALUES ('unlabelled'), ('timeout')) v(x);
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'reg-' || (c->>'name') || '-timeout', 'reg-' || (c->>'name'), '0'
        FROM jsonb_array_elements($1::jsonb -> 'regression') c
        """

    @Test func regressionColumnsMatchNumPyAndSciPy() async throws {
        let (text, results) = try await onThread {
            let cs = try TestDatabase.migrated("regcmp")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            let text = try CompareSQLFixtures.text()
            try c.execute("BEGIN")
            for statement in Self.insertSQL.components(separatedBy: ";\n") { try c.execute(statement, [text]) }
            try c.execute("COMMIT")
            let results = try c.execute("""
                SELECT c->>'name' AS name, r.*, b.*
                FROM jsonb_array_elements($1::jsonb -> 'regression') c
                CROSS JOIN LATERAL shadowgate.compare('reg-' || (c->>'name'), '1 hour') r
                CROSS JOIN LATERAL (SELECT s.legacy_mae AS series_legacy_mae, s.abs_error_diff_se AS series_abs_error_diff_se
                                    FROM shadowgate.compare_series('reg-' || (c->>'name'), '1 hour', '36500 days') s
                                    WHERE s.pairs > 0) b
                """, [text])
            return (text, results)
        }
        let doc = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let cases = doc["regression"] as! [[String: Any]]
        #expect(results.rows.count == cases.count && cases.count == 5)
        for row in results.rows.indices {
            let name = results.value("name", row: row)!
            let want = cases.first { $0["name"] as? String == name }!
            for column in Self.columns {
                let got = pgDouble(results.value(column, row: row))
                let expected = want[column] as? Double
                #expect(matches(got, expected, abs: 1e-12, rel: 1e-9),
                        "\(name) \(column): \(String(describing: got)) vs numpy \(String(describing: expected))")
            }
            // compare_series over one bucket holding the whole window gives the same row. The bucket is
            // a century: buckets are aligned to 2000-01-01, so a 2-hour bucket split the window
            // whenever the test ran just after an even hour (seen in CI at 12:08 UTC).
            #expect(results.value("series_legacy_mae", row: row) == results.value("legacy_mae", row: row))
            #expect(results.value("series_abs_error_diff_se", row: row) == results.value("abs_error_diff_se", row: row))
        }
        // one pair: the means exist, the standard errors do not (scipy's sem is NaN there)
        let one = results.rows.indices.first { results.value("name", row: $0) == "one_pair" }!
        #expect(results.value("abs_error_diff", row: one) == "0" && results.value("abs_error_diff_se", row: one) == nil)
    }

    /// A classification route (class labels) has no regression values; its other columns are as before.
    @Test func classLabelsGiveNoRegressionValues() async throws {
        let r = try await onThread {
            let cs = try TestDatabase.migrated("regcls")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript("""
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
                    legacy_label, learner_label)
                SELECT 'cls-' || i, 'cls', now() - interval '1 minute', 'legacy', 'shadow', 'ok', 'ok',
                       CASE WHEN i % 3 = 0 THEN 'cat' ELSE 'dog' END, 'dog'
                FROM generate_series(1, 30) i;
                INSERT INTO shadowgate.labels (request_id, route, label) SELECT 'cls-' || i, 'cls', 'dog' FROM generate_series(1, 30) i;
                """)
            return try c.execute("SELECT * FROM shadowgate.compare('cls', '1 hour')")
        }
        #expect(r.value("learner_accuracy") == "1" && r.value("labelled_pairs") == "30")
        for column in Self.columns { #expect(r.value(column) == nil, "\(column)") }
    }
}
