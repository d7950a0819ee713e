-- Comparing the two models of a route: the comparison row (type shadowgate.comparison: its 30
-- columns are spelled here and nowhere else in SQL), compare_window() that computes it over
-- [from, to), compare() over the last `since`, and compare_series() per time bucket (type
-- shadowgate.comparison_bucket: bucket_start, then the comparison's columns).
--
-- This file drops and re-creates its types and functions each time it is applied: a column added
-- to the row changes the functions' return type, which CREATE OR REPLACE cannot do. The DROPs
-- have no CASCADE, so anything else built on them (a view over compare()) makes the DROP fail
-- loudly instead of vanishing: such a view belongs in this file, after the functions.
DROP FUNCTION IF EXISTS shadowgate.compare_series(text, interval, interval, double precision, double precision);
DROP FUNCTION IF EXISTS shadowgate.compare(text, interval, double precision, double precision);
DROP FUNCTION IF EXISTS shadowgate.compare_window(text, timestamptz, timestamptz, double precision, double precision);
DROP TYPE IF EXISTS shadowgate.comparison_bucket;
DROP TYPE IF EXISTS shadowgate.comparison;

-- The comparison over the pairs of a route received in a window. Definitions (see README):
--   pairs               all pairs in the window; labelled_pairs: those with row 0's label in labels.
--   agreement           over pairs where both outcomes are 'ok': same label when both models
--                       gave a label, else |legacy_score - learner_score| < tolerance when both
--                       gave a score; pairs with neither are not counted.
--   mean_abs_score_diff avg |legacy_score - learner_score| where both scores exist.
--   *_accuracy          over labelled pairs where that model's outcome is 'ok': its label equals
--                       the true label when it gave a label; else, for a score and a numeric
--                       label, (score >= threshold) = (label_value >= threshold). accuracy_delta
--                       is learner - legacy.
--   ks_d, ks_p          ks_2samp(legacy scores, learner scores) over 'ok' outcomes.
--   psi                 psi(reference = legacy scores, current = learner scores).
--   chi2, chi2_p        chi2_2samp of the predicted classes (the label, else '1'/'0' by the
--                       score against threshold), scipy's default Yates correction at dof 1.
--   *_p50/95/99_ms      percentile_cont of the latency (ms) of calls made (outcome <> 'skipped').
--   *_error_rate        share of calls made with outcome http_error, unreachable or unparsed;
--   *_timeout_rate      share with outcome timeout.
--   *_mae, *_rmse       regression: over the labelled pairs where both outcomes are 'ok', both
--                       scores exist and the label is a number (label_value), the mean absolute and
--                       root mean squared error e = score - label_value of each model, on the same
--                       pairs (so the two are comparable).
--   abs_error_diff      over the same pairs, the mean of |e_legacy| - |e_learner| (positive: the
--                       learner is better, as for accuracy_delta); sq_error_diff the mean of
--                       e_legacy^2 - e_learner^2. *_se: their standard error, the sample standard
--                       deviation (n - 1) of the per-pair difference over sqrt(n); NULL below 2 pairs.
-- Whatever cannot be computed (empty window, one side without scores, …) is NULL.
CREATE TYPE shadowgate.comparison AS (
    pairs bigint, labelled_pairs bigint, agreement double precision, mean_abs_score_diff double precision,
    legacy_accuracy double precision, learner_accuracy double precision, accuracy_delta double precision,
    ks_d double precision, ks_p double precision, psi double precision,
    chi2 double precision, chi2_p double precision,
    legacy_p50_ms double precision, legacy_p95_ms double precision, legacy_p99_ms double precision,
    learner_p50_ms double precision, learner_p95_ms double precision, learner_p99_ms double precision,
    legacy_error_rate double precision, learner_error_rate double precision,
    legacy_timeout_rate double precision, learner_timeout_rate double precision,
    legacy_mae double precision, learner_mae double precision,
    legacy_rmse double precision, learner_rmse double precision,
    abs_error_diff double precision, abs_error_diff_se double precision,
    sq_error_diff double precision, sq_error_diff_se double precision);

-- One row of compare_series(): bucket_start, then every column of shadowgate.comparison (made
-- from it, so the columns are not spelled twice).
DO $$
BEGIN
    EXECUTE (SELECT format('CREATE TYPE shadowgate.comparison_bucket AS (bucket_start timestamptz, %s)',
                           string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum))
             FROM pg_attribute a
             WHERE a.attrelid = 'shadowgate.comparison'::regclass AND a.attnum > 0 AND NOT a.attisdropped);
END
$$;

-- shadowgate.comparison over the pairs of p_route received in [p_from, p_to), from pair_stats
-- and pair_value_counts (see migrations/README.md, "Fast comparison" and "Per-minute value
-- counts"):
-- * the window's whole minutes up to the route's roll-up watermark are counted from
--   pair_value_counts, the rest of the window (minutes not rolled up yet, the partial minutes at
--   its two ends) from pair_stats; counts add up, so KS, PSI, the chi-squared table and the
--   latency percentiles are those of the window's pairs exactly;
-- * the scalar metrics (counts, agreement, accuracies, rates) are counted grouped by the outcome
--   and label columns only, with a count per condition: the planner knows how few groups that
--   makes and runs the labels join (row 0's label) and the counting in parallel workers;
-- * scores or latencies that hardly repeat (decided on the first 10,000 pairs, as ks_2samp
--   decides) go to ks_2samp()/psi() as arrays and to percentile_cont instead of being counted.
CREATE FUNCTION shadowgate.compare_window(p_route text, p_from timestamptz, p_to timestamptz,
                                          tolerance double precision DEFAULT 0.05,
                                          threshold double precision DEFAULT 0.5)
RETURNS SETOF shadowgate.comparison
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET work_mem = '128MB'  -- the per-value hash tables stay in memory
-- Planned with the actual route and window (PL/pgSQL, custom plans): a window holding most of a
-- partition is read with a sequential scan, not a million index probes in random heap order.
SET plan_cache_mode = force_custom_plan
SET jit = off  -- compiling this query's ~300 expressions took longer than running them
AS $$
#variable_conflict use_column
DECLARE
    count_scores    boolean;
    count_latencies boolean;
    wm              timestamptz;
    -- [m_from, m_to): the whole, rolled-up minutes of the window (empty when it has none)
    m_from          timestamptz := CASE WHEN isfinite(p_from) THEN date_bin('1 minute', p_from, '2001-01-01 00:00:00+00') ELSE p_from END;
    m_to            timestamptz := CASE WHEN isfinite(p_to) THEN date_bin('1 minute', p_to, '2001-01-01 00:00:00+00') ELSE p_to END;
BEGIN
    IF m_from < p_from THEN m_from := m_from + interval '1 minute'; END IF;
    -- only minutes already rolled up are read from the counts (a watermark read before a
    -- concurrent roll-up commits is still right: pair_stats holds every pair after it)
    SELECT w.rolled_until INTO wm FROM shadowgate.rollup_watermarks w WHERE w.route = p_route;
    IF wm IS NULL OR wm < m_to THEN m_to := coalesce(wm, '-infinity'); END IF;
    IF NOT m_from < m_to THEN m_from := p_to; m_to := p_to; END IF;
    SELECT coalesce(count(DISTINCT x) FILTER (WHERE k = 1) < 0.5 * count(x) FILTER (WHERE k = 1), true),
           coalesce(count(DISTINCT x) FILTER (WHERE k = 2) < 0.5 * count(x) FILTER (WHERE k = 2), true)
      INTO count_scores, count_latencies
      FROM (SELECT s.legacy_score, s.learner_score, s.legacy_latency_us, s.learner_latency_us
            FROM shadowgate.pair_stats s
            WHERE s.route = p_route AND s.received_at >= p_from AND s.received_at < p_to LIMIT 10000) f
      CROSS JOIN LATERAL (VALUES (1, f.legacy_score), (1, f.learner_score),
                                 (2, f.legacy_latency_us::double precision), (2, f.learner_latency_us::double precision)) u(k, x);
    RETURN QUERY
    WITH w AS NOT MATERIALIZED (
        SELECT s.request_id, s.legacy_outcome AS lo, s.learner_outcome AS ro,
               s.legacy_score AS ls, s.learner_score AS rs,
               s.legacy_label AS ll, s.learner_label AS rl,
               s.legacy_latency_us AS lt, s.learner_latency_us AS rt
        FROM shadowgate.pair_stats s
        WHERE s.route = p_route AND s.received_at >= p_from AND s.received_at < p_to
    ), g AS MATERIALIZED (
        -- Pairs counted per combination of outcomes and model labels (columns whose number of
        -- distinct values the planner knows, so it plans a parallel partial aggregation), with
        -- counts of what the scalar metrics and the chi-squared table need: whether the models
        -- agree (ag: true, an: not NULL), whether each is right (lt/ln, rt/rn), which side of
        -- the threshold each score is on (lh1/lh0, rh1/rh0). The averages below are exact
        -- ratios of counts, equal to 0003's avg() of 0/1 values.
        SELECT lo, ro, ll, rl, count(*) AS n, count(l.label) AS nl,
               count(nullif(CASE WHEN lo = 'ok' AND ro = 'ok' THEN
                                 CASE WHEN ll IS NOT NULL AND rl IS NOT NULL THEN ll = rl
                                      WHEN ls IS NOT NULL AND rs IS NOT NULL THEN abs(ls - rs) < tolerance END
                             END, false)) AS ag,
               count(CASE WHEN lo = 'ok' AND ro = 'ok' THEN
                          CASE WHEN ll IS NOT NULL AND rl IS NOT NULL THEN ll = rl
                               WHEN ls IS NOT NULL AND rs IS NOT NULL THEN abs(ls - rs) < tolerance END
                     END) AS an,
               count(nullif(CASE WHEN l.label IS NULL OR lo <> 'ok' THEN NULL
                                 WHEN ll IS NOT NULL THEN ll = l.label
                                 WHEN ls IS NOT NULL AND l.label_value IS NOT NULL THEN (ls >= threshold) = (l.label_value >= threshold)
                            END, false)) AS lt,
               count(CASE WHEN l.label IS NULL OR lo <> 'ok' THEN NULL
                          WHEN ll IS NOT NULL THEN ll = l.label
                          WHEN ls IS NOT NULL AND l.label_value IS NOT NULL THEN (ls >= threshold) = (l.label_value >= threshold)
                     END) AS ln,
               count(nullif(CASE WHEN l.label IS NULL OR ro <> 'ok' THEN NULL
                                 WHEN rl IS NOT NULL THEN rl = l.label
                                 WHEN rs IS NOT NULL AND l.label_value IS NOT NULL THEN (rs >= threshold) = (l.label_value >= threshold)
                            END, false)) AS rt,
               count(CASE WHEN l.label IS NULL OR ro <> 'ok' THEN NULL
                          WHEN rl IS NOT NULL THEN rl = l.label
                          WHEN rs IS NOT NULL AND l.label_value IS NOT NULL THEN (rs >= threshold) = (l.label_value >= threshold)
                     END) AS rn,
               count(*) FILTER (WHERE ls >= threshold) AS lh1, count(*) FILTER (WHERE ls < threshold) AS lh0,
               count(*) FILTER (WHERE rs >= threshold) AS rh1, count(*) FILTER (WHERE rs < threshold) AS rh0,
               sum(abs(ls - rs)) AS diff_s, count(abs(ls - rs)) AS diff_n,
               -- regression: sums over the pairs both models scored and whose label is a number
               -- (e = score - label_value; written out, not in a lateral subquery, so the plan and
               -- the other sums' order stay what they were)
               count((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN ls - l.label_value END)) AS rg_n,
               sum(abs((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN ls - l.label_value END))) AS rg_la, sum(abs((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN rs - l.label_value END))) AS rg_ra,
               sum((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN ls - l.label_value END) ^ 2) AS rg_lq, sum((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN rs - l.label_value END) ^ 2) AS rg_rq,
               sum(abs((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN ls - l.label_value END)) - abs((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN rs - l.label_value END))) AS rg_d1, sum((abs((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN ls - l.label_value END)) - abs((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN rs - l.label_value END))) ^ 2) AS rg_d1q,
               sum((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN ls - l.label_value END) ^ 2 - (CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN rs - l.label_value END) ^ 2) AS rg_d2, sum(((CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN ls - l.label_value END) ^ 2 - (CASE WHEN lo = 'ok' AND ro = 'ok' AND ls <> 'NaN' AND rs <> 'NaN' AND l.label_value <> 'NaN' THEN rs - l.label_value END) ^ 2) ^ 2) AS rg_d2q
        FROM w LEFT JOIN shadowgate.labels l ON l.request_id = w.request_id AND l.row_index = 0
        GROUP BY lo, ro, ll, rl
    ), a AS (
        SELECT coalesce(sum(n), 0)::bigint AS pairs,
               coalesce(sum(nl), 0)::bigint AS labelled_pairs,
               coalesce(sum(ag), 0)::double precision / nullif(sum(an), 0)::double precision AS agreement,
               sum(diff_s) / nullif(sum(diff_n), 0)::double precision AS mean_abs_score_diff,
               coalesce(sum(lt), 0)::double precision / nullif(sum(ln), 0)::double precision AS legacy_accuracy,
               coalesce(sum(rt), 0)::double precision / nullif(sum(rn), 0)::double precision AS learner_accuracy,
               coalesce(sum(n) FILTER (WHERE lo IN ('http_error', 'unreachable', 'unparsed')), 0)::double precision
                   / nullif(sum(n) FILTER (WHERE lo <> 'skipped'), 0)::double precision AS ler,
               coalesce(sum(n) FILTER (WHERE ro IN ('http_error', 'unreachable', 'unparsed')), 0)::double precision
                   / nullif(sum(n) FILTER (WHERE ro <> 'skipped'), 0)::double precision AS rer,
               coalesce(sum(n) FILTER (WHERE lo = 'timeout'), 0)::double precision / nullif(sum(n) FILTER (WHERE lo <> 'skipped'), 0)::double precision AS ltr,
               coalesce(sum(n) FILTER (WHERE ro = 'timeout'), 0)::double precision / nullif(sum(n) FILTER (WHERE ro <> 'skipped'), 0)::double precision AS rtr,
               sum(rg_n)::double precision AS rn_, sum(rg_la) AS rla, sum(rg_ra) AS rra, sum(rg_lq) AS rlq, sum(rg_rq) AS rrq,
               sum(rg_d1) AS d1, sum(rg_d1q) AS d1q, sum(rg_d2) AS d2, sum(rg_d2q) AS d2q
        FROM g
    ), ct AS (
        -- chi2_2samp's 2 × K table of predicted classes, columns in label order
        SELECT ARRAY[array_agg(ka ORDER BY k), array_agg(kb ORDER BY k)] AS tab
        FROM (SELECT k, coalesce(sum(na), 0)::double precision AS ka, coalesce(sum(nb), 0)::double precision AS kb
              FROM (SELECT ll AS k, n AS na, NULL::bigint AS nb FROM g WHERE lo = 'ok' AND ll IS NOT NULL
                    UNION ALL SELECT '1', lh1, NULL FROM g WHERE lo = 'ok' AND ll IS NULL AND lh1 > 0
                    UNION ALL SELECT '0', lh0, NULL FROM g WHERE lo = 'ok' AND ll IS NULL AND lh0 > 0
                    UNION ALL SELECT rl, NULL, n FROM g WHERE ro = 'ok' AND rl IS NOT NULL
                    UNION ALL SELECT '1', NULL, rh1 FROM g WHERE ro = 'ok' AND rl IS NULL AND rh1 > 0
                    UNION ALL SELECT '0', NULL, rh0 FROM g WHERE ro = 'ok' AND rl IS NULL AND rh0 > 0) u
              GROUP BY k) t
        HAVING sum(ka) > 0 AND sum(kb) > 0
    ), h AS MATERIALIZED (
        -- s: 1 legacy scores, 2 learner scores, 3 legacy latency (ms), 4 learner latency (ms);
        -- x the value, n how often it occurs (NULLs are what 0003's FILTERs left out). The whole
        -- minutes of the window come from pair_value_counts (added up: counts are exact), the
        -- pairs of the rest of the window (minutes not rolled up, partial minutes) from pair_stats.
        SELECT s, CASE WHEN s >= 3 THEN x / 1000.0::double precision ELSE x END AS x, sum(n)::bigint AS n
        FROM (SELECT c.s, c.x, c.n
              FROM shadowgate.pair_value_counts c
              WHERE c.route = p_route AND c.received_at >= m_from AND c.received_at < m_to
                AND CASE WHEN c.s <= 2 THEN count_scores ELSE count_latencies END
              UNION ALL
              SELECT v.s, v.x, 1
              FROM (SELECT s.legacy_outcome AS lo, s.learner_outcome AS ro, s.legacy_score AS ls, s.learner_score AS rs,
                           s.legacy_latency_us AS lt, s.learner_latency_us AS rt
                    FROM shadowgate.pair_stats s
                    WHERE s.route = p_route AND ((s.received_at >= p_from AND s.received_at < m_from)
                                                 OR (s.received_at >= m_to AND s.received_at < p_to))) e
              CROSS JOIN LATERAL (VALUES (1::smallint, CASE WHEN count_scores AND e.lo = 'ok' AND e.ls <> 'NaN' THEN e.ls END),
                                         (2::smallint, CASE WHEN count_scores AND e.ro = 'ok' AND e.rs <> 'NaN' THEN e.rs END),
                                         (3::smallint, CASE WHEN count_latencies AND e.lo <> 'skipped' THEN e.lt::double precision END),
                                         (4::smallint, CASE WHEN count_latencies AND e.ro <> 'skipped' THEN e.rt::double precision END)) v(s, x)
              WHERE v.x IS NOT NULL) u
        GROUP BY s, u.x
    ), sorted AS (
        -- the other way, for values that hardly repeat: 0003's arrays and percentile_cont
        SELECT array_agg(ls) FILTER (WHERE NOT count_scores AND lo = 'ok' AND ls IS NOT NULL) AS lsa,
               array_agg(rs) FILTER (WHERE NOT count_scores AND ro = 'ok' AND rs IS NOT NULL) AS rsa,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY lt / 1000.0::double precision)
                   FILTER (WHERE NOT count_latencies AND lo <> 'skipped' AND lt IS NOT NULL) AS lq,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY rt / 1000.0::double precision)
                   FILTER (WHERE NOT count_latencies AND ro <> 'skipped' AND rt IS NOT NULL) AS rq
        FROM w WHERE NOT (count_scores AND count_latencies)
    ), ks AS (
        -- ks_2samp's D: the empirical CDFs at every distinct value (running counts, ties included)
        SELECT max(c1::double precision / n1 - c2::double precision / n2) AS hi,
               min(c1::double precision / n1 - c2::double precision / n2) AS lo,
               max(n1)::bigint AS n1, max(n2)::bigint AS n2
        FROM (SELECT coalesce(sum(n) FILTER (WHERE s = 1) OVER o, 0) AS c1,
                     coalesce(sum(n) FILTER (WHERE s = 2) OVER o, 0) AS c2,
                     sum(n) FILTER (WHERE s = 1) OVER () AS n1,
                     sum(n) FILTER (WHERE s = 2) OVER () AS n2
              FROM h WHERE s IN (1, 2)
              WINDOW o AS (ORDER BY x)) c
    ), kd AS (
        SELECT CASE WHEN least(greatest(-lo, 0), 1) > hi THEN least(greatest(-lo, 0), 1) ELSE hi END AS d,
               greatest(n1, n2)::double precision * least(n1, n2) / (n1 + n2) AS en
        FROM ks WHERE n1 > 0 AND n2 > 0
    ), q AS (
        -- percentiles per sample from its sorted distinct values and running counts
        SELECT s, shadowgate._percentiles_from_counts(
                      array_agg(x ORDER BY x), array_agg(cum ORDER BY x)::bigint[],
                      CASE WHEN s = 1 THEN ARRAY(SELECT i::double precision / 10 FROM generate_series(1, 9) i)
                           ELSE ARRAY[0.5, 0.95, 0.99]::double precision[] END) AS qs
        FROM (SELECT s, x, sum(n) OVER (PARTITION BY s ORDER BY x) AS cum FROM h WHERE s IN (1, 3, 4)) r
        GROUP BY s
    ), e AS MATERIALIZED (
        -- the PSI bucket edges: the distinct legacy deciles (materialized: computed once, not per value)
        SELECT ARRAY(SELECT DISTINCT u FROM unnest(qs) u ORDER BY u) AS edges FROM q WHERE s = 1
    ), ps AS (
        -- psi(legacy scores, learner scores): buckets over the legacy deciles
        SELECT shadowgate._psi_from_counts(array_agg(kr ORDER BY b), array_agg(kc ORDER BY b),
                                           (SELECT n1 FROM ks), (SELECT n2 FROM ks), 1e-4) AS psi
        FROM (SELECT width_bucket(h.x, e.edges) AS b,
                     sum(h.n) FILTER (WHERE h.s = 1)::bigint AS kr, sum(h.n) FILTER (WHERE h.s = 2)::bigint AS kc
              FROM h, e
              WHERE h.s IN (1, 2) GROUP BY 1) b
    )
    SELECT a.pairs, a.labelled_pairs, a.agreement, a.mean_abs_score_diff,
           a.legacy_accuracy, a.learner_accuracy, a.learner_accuracy - a.legacy_accuracy,
           CASE WHEN count_scores THEN kd.d ELSE k.d END,
           CASE WHEN count_scores THEN shadowgate.kstwo_sf(kd.d, round(kd.en)::bigint) ELSE k.p_value END,
           CASE WHEN count_scores THEN ps.psi ELSE shadowgate.psi(sorted.lsa, sorted.rsa) END,
           c.statistic, c.p_value,
           (CASE WHEN count_latencies THEN lq.qs ELSE sorted.lq END)[1],
           (CASE WHEN count_latencies THEN lq.qs ELSE sorted.lq END)[2],
           (CASE WHEN count_latencies THEN lq.qs ELSE sorted.lq END)[3],
           (CASE WHEN count_latencies THEN rq.qs ELSE sorted.rq END)[1],
           (CASE WHEN count_latencies THEN rq.qs ELSE sorted.rq END)[2],
           (CASE WHEN count_latencies THEN rq.qs ELSE sorted.rq END)[3],
           a.ler, a.rer, a.ltr, a.rtr,
           a.rla / nullif(a.rn_, 0), a.rra / nullif(a.rn_, 0),
           sqrt(a.rlq / nullif(a.rn_, 0)), sqrt(a.rrq / nullif(a.rn_, 0)),
           a.d1 / nullif(a.rn_, 0),
           sqrt(greatest(a.d1q - a.d1 * a.d1 / nullif(a.rn_, 0), 0) / nullif(a.rn_ - 1, 0) / nullif(a.rn_, 0)),
           a.d2 / nullif(a.rn_, 0),
           sqrt(greatest(a.d2q - a.d2 * a.d2 / nullif(a.rn_, 0), 0) / nullif(a.rn_ - 1, 0) / nullif(a.rn_, 0))
    FROM a
    CROSS JOIN ps
    LEFT JOIN kd ON true
    LEFT JOIN q lq ON lq.s = 3
    LEFT JOIN q rq ON rq.s = 4
    LEFT JOIN sorted ON true
    LEFT JOIN LATERAL shadowgate.ks_2samp(sorted.lsa, sorted.rsa) k ON NOT count_scores
    LEFT JOIN LATERAL (SELECT r.* FROM ct CROSS JOIN LATERAL shadowgate.chi2_contingency(ct.tab) r) c ON true;
END
$$;

-- compare_window over the last `since` (received_at >= now() - since).
CREATE FUNCTION shadowgate.compare(route text, since interval,
                                   tolerance double precision DEFAULT 0.05,
                                   threshold double precision DEFAULT 0.5)
RETURNS SETOF shadowgate.comparison
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT * FROM shadowgate.compare_window(route, now() - since, 'infinity', tolerance, threshold)
$$;

-- The same metrics per time bucket over the last `since`: buckets are aligned with date_bin
-- (origin 2000-01-01 00:00 UTC), the first one is cut at now() - since, and empty buckets are
-- returned too (pairs = 0, NULL metrics), oldest first. `bucket` must not contain months.
CREATE FUNCTION shadowgate.compare_series(route text, since interval, bucket interval,
                                          tolerance double precision DEFAULT 0.05,
                                          threshold double precision DEFAULT 0.5)
RETURNS SETOF shadowgate.comparison_bucket
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.s, c.*
    FROM generate_series(date_bin(bucket, now() - since, timestamptz '2000-01-01 00:00:00+00'), now(), bucket) AS b(s)
    CROSS JOIN LATERAL shadowgate.compare_window(route, greatest(b.s, now() - since), b.s + bucket,
                                                 tolerance, threshold) c
    ORDER BY b.s
$$;
