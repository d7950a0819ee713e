import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// The statistics of `migrations/functions/` against SciPy (committed fixtures made by
/// `Scripts/stats-fixtures/make_fixtures.py`), and compare() / compare_series() / feature_drift() on a
/// real database with known answers.
@Suite struct CompareSQLTests {
    // MARK: - Statistics against SciPy

    @Test func ks2sampMatchesSciPy() async throws {
        let r = try await onThread {
            try CompareSQLFixtures.query("""
                SELECT c->>'name', k.d, k.p_value, (c->>'d')::float8, (c->>'p')::float8
                FROM jsonb_array_elements($1::jsonb -> 'ks_2samp') c
                CROSS JOIN LATERAL shadowgate.ks_2samp(
                    ARRAY(SELECT jsonb_array_elements_text(c->'a')::float8),
                    ARRAY(SELECT jsonb_array_elements_text(c->'b')::float8)) k
                """, prefix: "ks")
        }
        #expect(r.rows.count == 20)
        for row in r.rows {
            let (d, p, wantD, wantP) = (pgDouble(row[1]), pgDouble(row[2]), pgDouble(row[3]), pgDouble(row[4]))
            #expect(matches(d, wantD, abs: 1e-12), "\(row[0]!): D \(String(describing: d)) vs scipy \(String(describing: wantD))")
            #expect(matches(p, wantP, abs: 1e-6), "\(row[0]!): p \(String(describing: p)) vs scipy \(String(describing: wantP))")
        }
        // D is computed exactly as scipy does (counts / n in float8): bit-for-bit equal.
        #expect(r.rows.allSatisfy { pgDouble($0[1]) == pgDouble($0[3]) })
        let byName = Dictionary(uniqueKeysWithValues: r.rows.map { ($0[0]!, $0) })
        #expect(byName["empty_a"]?[1] == nil && byName["empty_a"]?[2] == nil)
        #expect(byName["empty_both"]?[1] == nil)
        #expect(byName["n1_vs_n1"]?[1] == "1" && byName["n1_vs_n1"]?[2] == nil)  // scipy: p NaN (n = round(0.5) = 0)
        #expect(byName["all_equal_same"]?[1] == "0" && byName["all_equal_same"]?[2] == "1")
    }

    @Test func kstwoSurvivalFunctionMatchesSciPyOnEveryBranch() async throws {
        let r = try await onThread {
            try CompareSQLFixtures.query("""
                SELECT (c->>'n')::bigint, (c->>'x')::float8, shadowgate.kstwo_sf((c->>'x')::float8, (c->>'n')::bigint),
                       (c->>'sf')::float8
                FROM jsonb_array_elements($1::jsonb -> 'kstwo_sf') c
                """, prefix: "kstwo")
        }
        #expect(r.rows.count > 250)
        var worst = 0.0
        for row in r.rows {
            let (got, want) = (pgDouble(row[2]), pgDouble(row[3]))
            worst = max(worst, difference(got, want))
            #expect(matches(got, want, abs: 1e-6), "kstwo.sf(\(row[1]!), \(row[0]!)) = \(String(describing: got)), scipy \(String(describing: want))")
        }
        #expect(worst < 1e-7)  // documented: largest difference 3.2e-8 (Pelz–Good at n just above 1000)
    }

    @Test func chi2ContingencyMatchesSciPy() async throws {
        let r = try await onThread {
            try CompareSQLFixtures.query("""
                SELECT c->>'name', x.statistic, x.p_value, x.dof,
                       (c->>'statistic')::float8, (c->>'p')::float8, (c->>'dof')::int
                FROM jsonb_array_elements($1::jsonb -> 'chi2_contingency') c
                CROSS JOIN LATERAL shadowgate.chi2_contingency(
                    ARRAY(SELECT ARRAY(SELECT jsonb_array_elements_text(row)::float8)
                          FROM jsonb_array_elements(c->'table') row),
                    (c->>'correction')::boolean) x
                """, prefix: "chi2")
        }
        #expect(r.rows.count == 11)
        for row in r.rows {
            let name = row[0]!
            #expect(matches(pgDouble(row[1]), pgDouble(row[4]), abs: 1e-300, rel: 1e-9), "\(name): statistic \(row[1] ?? "NULL") vs \(row[4] ?? "NULL")")
            #expect(matches(pgDouble(row[2]), pgDouble(row[5]), abs: 1e-300, rel: 1e-9), "\(name): p \(row[2] ?? "NULL") vs \(row[5] ?? "NULL")")
            #expect(row[3] == row[6], "\(name): dof")
        }
        let byName = Dictionary(uniqueKeysWithValues: r.rows.map { ($0[0]!, $0) })
        #expect(byName["zero_column_raises"]?[1] == nil)  // scipy raises; SQL gives NULLs
        #expect(byName["1x4_dof0"]?[1] == "0" && byName["1x4_dof0"]?[2] == "1")
    }

    @Test func chi2OfTwoLabelSamplesMatchesSciPy() async throws {
        let r = try await onThread {
            try CompareSQLFixtures.query("""
                SELECT c->>'name', x.statistic, x.p_value, x.dof,
                       (c->>'statistic')::float8, (c->>'p')::float8, (c->>'dof')::int
                FROM jsonb_array_elements($1::jsonb -> 'chi2_2samp') c
                LEFT JOIN LATERAL shadowgate.chi2_2samp(
                    ARRAY(SELECT jsonb_array_elements_text(c->'a')),
                    ARRAY(SELECT jsonb_array_elements_text(c->'b')),
                    (c->>'correction')::boolean) x ON true
                """, prefix: "chi2s")
        }
        #expect(r.rows.count == 7)
        for row in r.rows {
            let name = row[0]!
            #expect(matches(pgDouble(row[1]), pgDouble(row[4]), rel: 1e-9), "\(name): statistic \(row[1] ?? "NULL") vs \(row[4] ?? "NULL")")
            #expect(matches(pgDouble(row[2]), pgDouble(row[5]), rel: 1e-9), "\(name): p \(row[2] ?? "NULL") vs \(row[5] ?? "NULL")")
            #expect(row[3] == row[6], "\(name): dof")
        }
    }

    @Test func chisquareAndChi2SurvivalMatchSciPy() async throws {
        let (gof, sf) = try await onThread {
            let cs = try TestDatabase.migrated("chisq")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            let doc = try CompareSQLFixtures.text()
            let gof = try c.execute("""
                SELECT c->>'name', x.statistic, x.p_value, (c->>'statistic')::float8, (c->>'p')::float8
                FROM jsonb_array_elements($1::jsonb -> 'chisquare') c
                CROSS JOIN LATERAL shadowgate.chisquare(
                    ARRAY(SELECT jsonb_array_elements_text(c->'f_obs')::float8),
                    CASE WHEN jsonb_typeof(c->'f_exp') = 'array'
                         THEN ARRAY(SELECT jsonb_array_elements_text(c->'f_exp')::float8) END) x
                """, [doc])
            let sf = try c.execute("""
                SELECT (c->>'x')::float8, (c->>'dof')::int, shadowgate.chi2_sf((c->>'x')::float8, (c->>'dof')::int),
                       (c->>'sf')::float8
                FROM jsonb_array_elements($1::jsonb -> 'chi2_sf') c
                """, [doc])
            return (gof, sf)
        }
        #expect(gof.rows.count == 3)
        for row in gof.rows {
            #expect(matches(pgDouble(row[1]), pgDouble(row[3]), rel: 1e-9), "\(row[0]!): statistic")
            #expect(matches(pgDouble(row[2]), pgDouble(row[4]), rel: 1e-9), "\(row[0]!): p \(row[2] ?? "NULL") vs \(row[4] ?? "NULL")")
        }
        #expect(sf.rows.count > 150)
        for row in sf.rows {
            #expect(matches(pgDouble(row[2]), pgDouble(row[3]), abs: 1e-300, rel: 1e-9),
                    "chi2.sf(\(row[0]!), \(row[1]!)) = \(row[2] ?? "NULL"), scipy \(row[3] ?? "NULL")")
        }
    }

    @Test func psiMatchesThePythonReference() async throws {
        let (numeric, categorical) = try await onThread {
            let cs = try TestDatabase.migrated("psi")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            let doc = try CompareSQLFixtures.text()
            let numeric = try c.execute("""
                SELECT c->>'name',
                       shadowgate.psi(ARRAY(SELECT jsonb_array_elements_text(c->'reference')::float8),
                                      ARRAY(SELECT jsonb_array_elements_text(c->'current')::float8),
                                      (c->>'buckets')::int),
                       (c->>'psi')::float8
                FROM jsonb_array_elements($1::jsonb -> 'psi') c
                """, [doc])
            let categorical = try c.execute("""
                SELECT c->>'name',
                       shadowgate.psi_categorical(ARRAY(SELECT jsonb_array_elements_text(c->'reference')),
                                                  ARRAY(SELECT jsonb_array_elements_text(c->'current'))),
                       (c->>'psi')::float8
                FROM jsonb_array_elements($1::jsonb -> 'psi_categorical') c
                """, [doc])
            return (numeric, categorical)
        }
        #expect(numeric.rows.count == 11 && categorical.rows.count == 4)
        for row in numeric.rows + categorical.rows {
            #expect(matches(pgDouble(row[1]), pgDouble(row[2]), abs: 1e-15, rel: 1e-12), "\(row[0]!): psi \(row[1] ?? "NULL") vs \(row[2] ?? "NULL")")
        }
        let byName = Dictionary(uniqueKeysWithValues: numeric.rows.map { ($0[0]!, $0) })
        #expect(byName["empty_current"]?[1] == nil && byName["empty_reference"]?[1] == nil)
        #expect(byName["all_equal_both"]?[1] == "0")
    }

    @Test func emptyAndNullInputsGiveNullsNotErrors() async throws {
        let r = try await onThread {
            let cs = try TestDatabase.migrated("nulls")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("""
                SELECT (SELECT row(d, p_value)::text FROM shadowgate.ks_2samp(NULL, NULL)),
                       (SELECT row(d, p_value)::text FROM shadowgate.ks_2samp('{}', '{1,2}')),
                       (SELECT row(d, p_value)::text FROM shadowgate.ks_2samp('{NULL,NaN}', '{1,2}')),
                       shadowgate.psi(NULL, '{1}'), shadowgate.psi('{1,2}', '{NULL}'),
                       (SELECT row(statistic, p_value, dof)::text FROM shadowgate.chi2_2samp('{}', '{a}')),
                       (SELECT row(statistic, p_value, dof)::text FROM shadowgate.chi2_contingency(NULL)),
                       (SELECT row(statistic, p_value, dof)::text FROM shadowgate.chi2_contingency('{1,2,3}')),
                       shadowgate.psi_categorical('{}', '{a}'),
                       (SELECT row(d, p_value)::text FROM shadowgate.ks_2samp('{1,NULL,2}', '{1,2,NaN}'))
                """)
        }
        #expect(r.rows == [["(,)", "(,)", "(,)", nil, nil, "(,,)", "(,,)", "(,,)", nil, "(0,1)"]])
    }

    // MARK: - labels

    @Test func labelsGetANumericValueWhenTheLabelIsANumber() async throws {
        let r = try await onThread {
            let cs = try TestDatabase.migrated("labels")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.execute("""
                INSERT INTO shadowgate.labels (request_id, route, label) VALUES
                    ('a', 'r', '1'), ('b', 'r', ' 0.25 '), ('c', 'r', 'cat'), ('d', 'r', '1e3'), ('e', 'r', '1.2.3')
                """)
            try c.execute("INSERT INTO shadowgate.labels (request_id, route, label, label_value) VALUES ('f', 'r', 'yes', 1)")
            try c.execute("""
                INSERT INTO shadowgate.labels (request_id, route, label) VALUES ('c', 'r', '0')
                ON CONFLICT (request_id, row_index) DO UPDATE SET label = excluded.label, label_value = NULL
                """)
            return try c.execute("SELECT request_id, label, label_value FROM shadowgate.labels ORDER BY 1")
        }
        #expect(r.rows == [["a", "1", "1"], ["b", " 0.25 ", "0.25"], ["c", "0", "0"], ["d", "1e3", "1000"],
                           ["e", "1.2.3", nil], ["f", "yes", "1"]])
    }

    // MARK: - compare()

    /// 200 pairs of route `cls` (string labels) and 100 of route `num` (scores, 0/1 labels), with
    /// known accuracies, agreements, latencies and error/timeout rates.
    static let comparePairsSQL = """
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode,
            legacy_outcome, learner_outcome, legacy_label, learner_label, legacy_score, learner_score,
            legacy_latency_us, learner_latency_us)
        SELECT 'cls-' || i, 'cls', now() - interval '5 minutes' + i * interval '1 second', 'legacy', 'shadow',
               CASE WHEN i >= 190 THEN 'timeout' ELSE 'ok' END,
               CASE WHEN i >= 180 AND i < 190 THEN 'http_error' ELSE 'ok' END,
               CASE WHEN i >= 190 THEN NULL
                    WHEN i < 100 AND i % 5 = 0 THEN CASE WHEN i % 2 = 0 THEN 'dog' ELSE 'cat' END
                    ELSE CASE WHEN i % 2 = 0 THEN 'cat' ELSE 'dog' END END,
               CASE WHEN i >= 180 AND i < 190 THEN NULL
                    WHEN i < 100 AND i % 10 = 0 THEN CASE WHEN i % 2 = 0 THEN 'dog' ELSE 'cat' END
                    ELSE CASE WHEN i % 2 = 0 THEN 'cat' ELSE 'dog' END END,
               CASE WHEN i >= 190 THEN NULL ELSE (i % 10) / 10.0 END,
               CASE WHEN i >= 180 AND i < 190 THEN NULL ELSE (i % 7) / 7.0 END,
               1000 * (i + 1), 2000 * (i + 1)
        FROM generate_series(0, 199) i;
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'cls-' || i, 'cls', CASE WHEN i % 2 = 0 THEN 'cat' ELSE 'dog' END FROM generate_series(0, 99) i;

        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode,
            legacy_outcome, learner_outcome, legacy_score, learner_score, legacy_latency_us, learner_latency_us)
        SELECT 'num-' || i, 'num', now() - interval '90 minutes' + i * interval '1 second', 'legacy', 'shadow', 'ok', 'ok',
               CASE WHEN (i % 2 = 0) <> (i % 4 = 0) THEN 0.8 ELSE 0.2 END,
               CASE WHEN (i % 2 = 0) <> (i % 20 = 0) THEN 0.8 ELSE 0.2 END,
               500, 700
        FROM generate_series(0, 99) i;
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'num-' || i, 'num', CASE WHEN i % 2 = 0 THEN '1' ELSE '0' END FROM generate_series(0, 99) i;
        -- outside every window used below
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
            legacy_score, learner_score)
        VALUES ('num-old', 'num', now() - interval '3 hours', 'legacy', 'shadow', 'ok', 'ok', 0.9, 0.1);
        INSERT INTO shadowgate.labels (request_id, route, label) VALUES ('num-old', 'num', '1');
        """

    @Test func compareReportsTheKnownAccuraciesAndRates() async throws {
        let (cls, num, empty, helpers) = try await onThread {
            let cs = try TestDatabase.migrated("compare")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript(Self.comparePairsSQL)
            let cls = try c.execute("SELECT * FROM shadowgate.compare('cls', '1 hour')")
            let num = try c.execute("SELECT * FROM shadowgate.compare('num', '2 hours')")
            let empty = try c.execute("SELECT * FROM shadowgate.compare('nothing', '1 hour')")
            // the distribution statistics equal the helpers on the same samples
            let helpers = try c.execute("""
                WITH s AS (
                    SELECT array_agg(legacy_score) FILTER (WHERE legacy_outcome = 'ok' AND legacy_score IS NOT NULL) AS l,
                           array_agg(learner_score) FILTER (WHERE learner_outcome = 'ok' AND learner_score IS NOT NULL) AS r,
                           array_agg(legacy_label) FILTER (WHERE legacy_outcome = 'ok') AS ll,
                           array_agg(learner_label) FILTER (WHERE learner_outcome = 'ok') AS rl
                    FROM shadowgate.pairs WHERE route = 'cls')
                SELECT k.d, k.p_value, shadowgate.psi(s.l, s.r), x.statistic, x.p_value
                FROM s, shadowgate.ks_2samp(s.l, s.r) k, shadowgate.chi2_2samp(s.ll, s.rl) x
                """)
            return (cls, num, empty, helpers)
        }
        func v(_ r: PGResult, _ column: String) -> Double? { pgDouble(r.value(column)) }
        func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 1e-12 } ?? false }

        // cls: legacy wrong on i % 5 == 0 of the 100 labelled pairs, learner on i % 10 == 0
        #expect(cls.value("pairs") == "200" && cls.value("labelled_pairs") == "100")
        #expect(close(v(cls, "legacy_accuracy"), 0.8))
        #expect(close(v(cls, "learner_accuracy"), 0.9))
        #expect(close(v(cls, "accuracy_delta"), 0.1))
        // both ok in 180 pairs; they disagree where exactly one is wrong: i ≡ 5 (mod 10), i < 100
        #expect(close(v(cls, "agreement"), 170.0 / 180.0))
        #expect(close(v(cls, "legacy_timeout_rate"), 0.05) && v(cls, "legacy_error_rate") == 0)
        #expect(close(v(cls, "learner_error_rate"), 0.05) && v(cls, "learner_timeout_rate") == 0)
        // latencies 1…200 ms and 2…400 ms: percentile_cont
        #expect(close(v(cls, "legacy_p50_ms"), 100.5) && close(v(cls, "learner_p50_ms"), 201))
        let p95: Double = 1 + 0.95 * 199, p99: Double = 1 + 0.99 * 199
        #expect(close(v(cls, "legacy_p95_ms"), p95) && close(v(cls, "legacy_p99_ms"), p99))
        #expect(close(v(cls, "learner_p99_ms"), 2 * p99))
        // mean |diff| over the 180 pairs where both scored
        var diffSum = 0.0
        for i in 0..<180 {
            let legacy: Double = Double(i % 10) / 10
            let learner: Double = Double(i % 7) / 7
            diffSum += abs(legacy - learner)
        }
        #expect(close(v(cls, "mean_abs_score_diff"), diffSum / 180))
        #expect(cls.value("ks_d") == helpers.rows[0][0] && cls.value("ks_p") == helpers.rows[0][1])
        #expect(cls.value("psi") == helpers.rows[0][2])
        #expect(cls.value("chi2") == helpers.rows[0][3] && cls.value("chi2_p") == helpers.rows[0][4])
        #expect(v(cls, "ks_d") != nil && v(cls, "chi2") != nil)

        // num: score >= 0.5 vs 0/1 label; legacy wrong on i % 4 == 0 (25), learner on i % 20 == 0 (5)
        #expect(num.value("pairs") == "100" && num.value("labelled_pairs") == "100")
        #expect(close(v(num, "legacy_accuracy"), 0.75))
        #expect(close(v(num, "learner_accuracy"), 0.95))
        #expect(close(v(num, "accuracy_delta"), 0.2))
        #expect(close(v(num, "agreement"), 0.8))  // |0.8 - 0.2| >= 0.05 where exactly one is wrong (20)
        #expect(close(v(num, "mean_abs_score_diff"), 0.2 * 0.6))
        #expect(close(v(num, "legacy_p50_ms"), 0.5) && close(v(num, "learner_p99_ms"), 0.7))
        #expect(v(num, "legacy_error_rate") == 0 && v(num, "learner_timeout_rate") == 0)

        // nothing in the window: one row, zero counts, NULL metrics
        #expect(empty.rows.count == 1)
        #expect(empty.value("pairs") == "0" && empty.value("labelled_pairs") == "0")
        #expect(empty.rows[0].dropFirst(2).allSatisfy { $0 == nil })
    }

    /// compare() counts values that repeat and sorts values that do not (0005); both ways must
    /// give exactly what the helpers give on the same samples.
    @Test(arguments: [
        ("rounded", "round(random()::numeric, 2)::float8", "(1000 + 20 * (i % 50))"),  // counted
        ("continuous", "random()", "(1000 + 1000000 * random())::bigint"),             // sorted
    ])
    func compareEqualsTheHelpersWhetherValuesRepeatOrNot(kind: String, score: String, latency: String) async throws {
        let (got, want) = try await onThread {
            let cs = try TestDatabase.migrated("cmp-\(kind)")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript("""
                SELECT setseed(0.42);
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
                    legacy_score, learner_score, legacy_latency_us, learner_latency_us)
                SELECT 'p' || i, 'r', now() - interval '10 minutes' + i * interval '1 ms', 'legacy', 'shadow',
                       CASE WHEN i % 97 = 0 THEN 'timeout' ELSE 'ok' END, 'ok',
                       \(score), \(score) * 0.9, \(latency), \(latency) + 7
                FROM generate_series(1, 3000) i;
                """)
            let got = try c.execute("""
                SELECT ks_d, ks_p, psi, legacy_p50_ms, legacy_p95_ms, legacy_p99_ms, learner_p50_ms, learner_p95_ms, learner_p99_ms
                FROM shadowgate.compare('r', '1 hour')
                """).rows
            let want = try c.execute("""
                WITH s AS (
                    SELECT array_agg(legacy_score) FILTER (WHERE legacy_outcome = 'ok') AS l,
                           array_agg(learner_score) FILTER (WHERE learner_outcome = 'ok') AS r,
                           percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY legacy_latency_us / 1000.0::float8) AS lq,
                           percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY learner_latency_us / 1000.0::float8) AS rq
                    FROM shadowgate.pairs WHERE route = 'r')
                SELECT k.d, k.p_value, shadowgate.psi(s.l, s.r), s.lq[1], s.lq[2], s.lq[3], s.rq[1], s.rq[2], s.rq[3]
                FROM s, shadowgate.ks_2samp(s.l, s.r) k
                """).rows
            return (got, want)
        }
        #expect(got == want)
        #expect(got.first?.allSatisfy { $0 != nil } == true)
    }

    /// compare() counts the whole minutes of a window up to the route's roll-up watermark from
    /// pair_value_counts (0006: roll_up_counts() fills them, the trigger on pairs adds late rows)
    /// and the rest of the window from pair_stats. Half the pairs are written and rolled up, then
    /// all of them replayed (duplicates skipped, the other half arriving late, older than the
    /// watermark); over a window that cuts through minutes and extends past the watermark (a
    /// whole minute not rolled up), compare_window must give exactly what the helpers give on
    /// the pairs of that window, and the counts must equal a recount of pair_stats up to the
    /// watermark (none after it).
    @Test func compareOverPartialMinutesEqualsTheHelpers() async throws {
        let (got, want, mismatches) = try await onThread {
            let cs = try TestDatabase.migrated("cmp-minutes")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript("""
                SELECT setseed(0.17);
                CREATE TEMP TABLE src AS
                SELECT 'm' || i AS request_id, date_bin('1 minute', now(), '2001-01-01') - interval '5 minutes' + i * interval '97 ms' AS received_at,
                       CASE WHEN i % 31 = 0 THEN 'timeout' WHEN i % 37 = 0 THEN 'skipped' ELSE 'ok' END AS lo,
                       CASE WHEN i % 41 = 0 THEN 'http_error' ELSE 'ok' END AS ro,
                       round(random()::numeric, 2)::float8 AS ls, round(random()::numeric, 2)::float8 AS rs,
                       (1000 + 20 * (i % 50))::bigint AS lt, (900 + 10 * (i % 70))::bigint AS rt
                FROM generate_series(1, 3000) i;
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
                    legacy_score, learner_score, legacy_latency_us, learner_latency_us)
                SELECT request_id, 'r', received_at, 'legacy', 'shadow', lo, ro, ls, rs, lt, rt FROM src WHERE right(request_id, 1) < '5';
                """)
            let rolled = try c.execute("SELECT shadowgate.roll_up_counts()").scalar
            let watermark = try c.execute("""
                SELECT rolled_until = date_bin('1 minute', now() - interval '2 minutes', '2001-01-01 00:00:00+00')
                FROM shadowgate.rollup_watermarks WHERE route = 'r'
                """).scalar
            try c.executeScript("""
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome,
                    legacy_score, learner_score, legacy_latency_us, learner_latency_us)
                SELECT request_id, 'r', received_at, 'legacy', 'shadow', lo, ro, ls, rs, lt, rt FROM src
                ON CONFLICT DO NOTHING;
                """)
            let window = """
                date_bin('1 minute', now(), '2001-01-01') - interval '4 minutes 21.3 seconds',
                date_bin('1 minute', now(), '2001-01-01') - interval '12.9 seconds'
                """
            let got = try c.execute("""
                SELECT pairs, ks_d, ks_p, psi, legacy_p50_ms, legacy_p95_ms, legacy_p99_ms, learner_p50_ms, learner_p95_ms, learner_p99_ms
                FROM shadowgate.compare_window('r', \(window))
                """).rows
            let want = try c.execute("""
                WITH s AS (
                    SELECT count(*) AS n,
                           array_agg(legacy_score) FILTER (WHERE legacy_outcome = 'ok') AS l,
                           array_agg(learner_score) FILTER (WHERE learner_outcome = 'ok') AS r,
                           percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY legacy_latency_us / 1000.0::float8)
                               FILTER (WHERE legacy_outcome <> 'skipped') AS lq,
                           percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY learner_latency_us / 1000.0::float8)
                               FILTER (WHERE learner_outcome <> 'skipped') AS rq
                    FROM shadowgate.pairs, (SELECT \(window)) w(f, t)
                    WHERE route = 'r' AND received_at >= w.f AND received_at < w.t)
                SELECT s.n, k.d, k.p_value, shadowgate.psi(s.l, s.r), s.lq[1], s.lq[2], s.lq[3], s.rq[1], s.rq[2], s.rq[3]
                FROM s, shadowgate.ks_2samp(s.l, s.r) k
                """).rows
            let mismatches = try c.execute("""
                WITH v AS (
                    SELECT route, date_bin('1 minute', received_at, '2001-01-01 00:00:00+00') AS m, s, x
                    FROM shadowgate.pair_stats
                    CROSS JOIN LATERAL (VALUES
                        (1::smallint, CASE WHEN legacy_outcome = 'ok' AND legacy_score <> 'NaN' THEN legacy_score END),
                        (2::smallint, CASE WHEN learner_outcome = 'ok' AND learner_score <> 'NaN' THEN learner_score END),
                        (3::smallint, CASE WHEN legacy_outcome <> 'skipped' THEN legacy_latency_us::float8 END),
                        (4::smallint, CASE WHEN learner_outcome <> 'skipped' THEN learner_latency_us::float8 END)) u(s, x)
                    WHERE x IS NOT NULL),
                raw AS (SELECT route, m AS received_at, s, x, count(*) AS n FROM v
                        WHERE m < (SELECT rolled_until FROM shadowgate.rollup_watermarks WHERE route = 'r') GROUP BY 1, 2, 3, 4)
                SELECT count(*) FROM raw FULL JOIN shadowgate.pair_value_counts c USING (route, received_at, s, x)
                WHERE raw.n IS DISTINCT FROM c.n
                """).scalar
            #expect(rolled == "3")  // the minutes from the first pair's to now − 2 minutes
            #expect(watermark == "t")
            return (got, want, mismatches)
        }
        #expect(got == want)
        #expect(got.first?.allSatisfy { $0 != nil } == true)
        #expect(mismatches == "0")
    }

    @Test func compareSeriesSplitsTheWindowIntoBuckets() async throws {
        let (series, total) = try await onThread {
            let cs = try TestDatabase.migrated("series")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript(Self.comparePairsSQL)
            let series = try c.execute("""
                SELECT bucket_start, pairs, legacy_accuracy, learner_accuracy
                FROM shadowgate.compare_series('num', '150 minutes', '30 minutes')
                """)
            let total = try c.execute("SELECT pairs FROM shadowgate.compare('num', '150 minutes')")
            return (series, total)
        }
        #expect(series.rows.count >= 5 && series.rows.count <= 6)
        #expect(series.rows.map { $0[0]! } == series.rows.map { $0[0]! }.sorted())
        #expect(series.rows.reduce(0) { $0 + Int($1[1]!)! } == Int(total.scalar!)!)
        #expect(total.scalar == "100")
        // empty buckets are rows with pairs = 0 and NULL metrics
        #expect(series.rows.contains { $0[1] == "0" && $0[2] == nil })
        // the 100 pairs of the 90-minute-old burst (100 s long) land in one or two buckets
        let busy = series.rows.filter { $0[1] != "0" }
        #expect(busy.count >= 1 && busy.count <= 2)
    }

    // MARK: - feature_drift()

    @Test func featureDriftPerFeatureForOIPv2AndKServeV1() async throws {
        let (oip, v1, expected) = try await onThread {
            let cs = try TestDatabase.migrated("drift")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.executeScript("""
                -- reference: 2 h … 1 h ago, current: the last hour. x[0] numeric shifts by +1,
                -- x[1] categorical changes mix; KServe v1 rows: column 0 numeric, column 1 strings.
                CREATE TABLE samples AS
                SELECT i, i < 60 AS ref,
                       CASE WHEN i < 60 THEN (i % 13) / 3.0 ELSE (i % 11) / 3.0 + 2 END AS x0,
                       CASE WHEN i < 60 THEN (ARRAY['a','b','c'])[i % 3 + 1] ELSE (ARRAY['a','c','c','d'])[i % 4 + 1] END AS x1
                FROM generate_series(0, 139) i;
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode,
                    legacy_outcome, learner_outcome, features)
                SELECT 'o-' || i, 'oip', now() - CASE WHEN ref THEN interval '90 minutes' ELSE interval '30 minutes' END
                                         + i * interval '1 second',
                       'legacy', 'shadow', 'ok', 'ok',
                       jsonb_build_array(
                           jsonb_build_object('name', 'x', 'shape', '[1, 2]'::jsonb, 'datatype', 'BYTES',
                                              'data', jsonb_build_array(x0, x1)),
                           jsonb_build_object('name', 'batch', 'shape', '[2, 1]'::jsonb, 'datatype', 'FP32',
                                              'data', jsonb_build_array(x0, x0 + 1)))
                FROM samples;
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode,
                    legacy_outcome, learner_outcome, features)
                SELECT 'k-' || i, 'v1', now() - CASE WHEN ref THEN interval '90 minutes' ELSE interval '30 minutes' END
                                        + i * interval '1 second',
                       'legacy', 'shadow', 'ok', 'ok',
                       jsonb_build_array(jsonb_build_array(x0, x1))
                FROM samples;
                -- no features / outside both ranges: ignored
                INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode, legacy_outcome, learner_outcome, features)
                VALUES ('o-none', 'oip', now() - interval '10 minutes', 'legacy', 'shadow', 'ok', 'ok', NULL),
                       ('o-old', 'oip', now() - interval '5 hours', 'legacy', 'shadow', 'ok', 'ok',
                        '[{"name": "x", "shape": [1, 2], "data": [100, "zzz"]}]');
                """)
            let ranges = "tstzrange(now() - interval '2 hours', now() - interval '1 hour'), tstzrange(now() - interval '1 hour', now())"
            let oip = try c.execute("SELECT * FROM shadowgate.feature_drift('oip', \(ranges))")
            let v1 = try c.execute("SELECT * FROM shadowgate.feature_drift('v1', \(ranges))")
            let expected = try c.execute("""
                SELECT k.d, k.p_value, shadowgate.psi(r.a, q.a), x.statistic, x.p_value, x.dof,
                       shadowgate.psi_categorical(r.t, q.t),
                       (SELECT row(d, p_value)::text FROM shadowgate.ks_2samp(r.a || r.b, q.a || q.b))
                FROM (SELECT array_agg(x0::float8) a, array_agg((x0 + 1)::float8) b, array_agg(x1) t FROM samples WHERE ref) r,
                     (SELECT array_agg(x0::float8) a, array_agg((x0 + 1)::float8) b, array_agg(x1) t FROM samples WHERE NOT ref) q,
                     shadowgate.ks_2samp(r.a, q.a) k, shadowgate.chi2_2samp(r.t, q.t) x
                """)
            return (oip, v1, expected)
        }
        let e = expected.rows[0]
        // OIP v2: batch[0] (2×1 flat data: both elements are column 0), x[0], x[1]
        #expect(oip.rows.map { [$0[0]!, $0[1]!, $0[2]!, $0[3]!] } == [
            ["batch[0]", "numeric", "120", "160"], ["x[0]", "numeric", "60", "80"], ["x[1]", "categorical", "60", "80"],
        ])
        let x0 = oip.rows[1], x1 = oip.rows[2], batch = oip.rows[0]
        #expect(x0[4] == e[0] && x0[5] == e[1] && x0[9] == e[2])
        #expect(x0[6] == nil && x0[7] == nil)
        #expect(x1[6] == e[3] && x1[7] == e[4] && x1[8] == e[5] && x1[9] == e[6])
        #expect(x1[4] == nil && x1[5] == nil)
        #expect("(\(batch[4]!),\(batch[5]!))" == e[7]!)
        #expect(pgDouble(x0[4])! > 0.3 && pgDouble(x0[5])! < 0.01)  // the shift is detected

        // KServe v1: columns 0 and 1, same data
        #expect(v1.rows.map { [$0[0]!, $0[1]!, $0[2]!, $0[3]!] } == [
            ["0", "numeric", "60", "80"], ["1", "categorical", "60", "80"],
        ])
        #expect(v1.rows[0][4] == e[0] && v1.rows[0][9] == e[2])
        #expect(v1.rows[1][6] == e[3] && v1.rows[1][9] == e[6])
    }

    @Test func featureValuesUnpacksTheStoredShapes() async throws {
        let r = try await onThread {
            let cs = try TestDatabase.migrated("fv")
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("""
                SELECT string_agg(coalesce(name, '-') || ':' || coalesce(idx::text, '-') || '=' || value::text, ' '
                                  ORDER BY ord)
                FROM (VALUES
                    (1, '[{"name": "a", "shape": [2, 2], "data": [1, 2, 3, 4]}]'::jsonb),
                    (2, '[{"name": "b", "shape": [2, 2], "data": [[1, 2], [3, 4]]}]'),
                    (3, '[{"name": "c", "shape": [3], "data": ["x", "y", "z"]}]'),
                    (4, '[[1, "u"], [2, "v"]]'),
                    (5, '[{"f": 1, "g": "w"}]'),
                    (6, '{"inputs": [{"name": "d", "shape": [1], "data": [true]}]}'),
                    (7, '[5, 6]'),
                    (8, '"nonsense"'),
                    (9, 'null')) AS t(ord, f)
                CROSS JOIN LATERAL shadowgate.feature_values(t.f)
                """)
        }
        let parts = Set(r.scalar!.split(separator: " ").map(String.init))
        #expect(parts == [
            "a:0=1", "a:1=2", "a:0=3", "a:1=4", "b:0=1", "b:1=2", "b:0=3", "b:1=4",
            "c:0=\"x\"", "c:1=\"y\"", "c:2=\"z\"", "-:0=1", "-:1=\"u\"", "-:0=2", "-:1=\"v\"",
            "f:-=1", "g:-=\"w\"", "d:0=true", "-:0=5", "-:0=6",
        ])
    }
}
