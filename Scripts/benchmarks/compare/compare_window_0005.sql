-- Benchmark baseline: compare_window() as migrations/0005_*.sql defined it up to commit 85424dd,
-- renamed compare_window_0005. Scripts/benchmarks/compare/compare.sh (BASELINE=1) times it next to
-- today's shadowgate.compare() on the same data. Not part of the schema.
--
-- Same signature, columns and definitions as 0003's (see there and migrations/README.md); the
-- label of a pair is its row 0 label. How it is fast:
--   * it reads pair_stats (the narrow copy), not pairs;
--   * one pass with the labels join gives the counts, agreement, accuracies and rates;
--   * a second pass (no join) counts each distinct value of the scores, latencies and predicted
--     classes per model with hash aggregation (GROUPING SETS, one scan); KS (running counts over
--     the distinct values), PSI (deciles and buckets), chi-squared and the latency percentiles
--     come from those counts — rounded scores and µs latencies repeat a lot, so there is far
--     less to sort than a million values per statistic;
--   * values that hardly repeat (continuous scores: a million distinct values) would make those
--     counts as large as the window, and hashing them costs more than sorting: then, decided as
--     ks_2samp does on the first 10,000 pairs of the window (fewer distinct values than half of
--     them: count; else sort), the scores go to 0003's ks_2samp() and psi() as arrays and the
--     latencies to percentile_cont, in a pass of their own. Either way the results are the same.
CREATE OR REPLACE FUNCTION shadowgate.compare_window_0005(p_route text, p_from timestamptz, p_to timestamptz,
                                                     tolerance double precision DEFAULT 0.05,
                                                     threshold double precision DEFAULT 0.5)
RETURNS TABLE (
    pairs bigint, labelled_pairs bigint, agreement double precision, mean_abs_score_diff double precision,
    legacy_accuracy double precision, learner_accuracy double precision, accuracy_delta double precision,
    ks_d double precision, ks_p double precision, psi double precision,
    chi2 double precision, chi2_p double precision,
    legacy_p50_ms double precision, legacy_p95_ms double precision, legacy_p99_ms double precision,
    learner_p50_ms double precision, learner_p95_ms double precision, learner_p99_ms double precision,
    legacy_error_rate double precision, learner_error_rate double precision,
    legacy_timeout_rate double precision, learner_timeout_rate double precision)
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
BEGIN
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
        -- Pairs counted per combination of what the scalar metrics and the chi-squared table
        -- need: the outcomes, the predicted classes, and agree / lc / rc (whether the models
        -- agree, whether each one is right: true, false or NULL when not counted). Grouping on
        -- these few-valued keys costs less per pair than a dozen FILTERed aggregates, and the
        -- averages below are exact ratios of counts, equal to 0003's avg() of 0/1 values.
        SELECT lo, ro, kl, kr, agree, lc, rc, labelled, count(*) AS n,
               sum(abs(ls - rs)) AS diff_s, count(abs(ls - rs)) AS diff_n
        FROM (SELECT lo, ro, ls, rs, l.label IS NOT NULL AS labelled,
                     CASE WHEN lo = 'ok' AND ro = 'ok' THEN
                         CASE WHEN ll IS NOT NULL AND rl IS NOT NULL THEN ll = rl
                              WHEN ls IS NOT NULL AND rs IS NOT NULL THEN abs(ls - rs) < tolerance END
                     END AS agree,
                     CASE WHEN l.label IS NULL OR lo <> 'ok' THEN NULL
                          WHEN ll IS NOT NULL THEN ll = l.label
                          WHEN ls IS NOT NULL AND l.label_value IS NOT NULL THEN (ls >= threshold) = (l.label_value >= threshold)
                     END AS lc,
                     CASE WHEN l.label IS NULL OR ro <> 'ok' THEN NULL
                          WHEN rl IS NOT NULL THEN rl = l.label
                          WHEN rs IS NOT NULL AND l.label_value IS NOT NULL THEN (rs >= threshold) = (l.label_value >= threshold)
                     END AS rc,
                     CASE WHEN lo = 'ok' THEN coalesce(ll, CASE WHEN ls >= threshold THEN '1' WHEN ls < threshold THEN '0' END) END AS kl,
                     CASE WHEN ro = 'ok' THEN coalesce(rl, CASE WHEN rs >= threshold THEN '1' WHEN rs < threshold THEN '0' END) END AS kr
              FROM w LEFT JOIN shadowgate.labels l ON l.request_id = w.request_id AND l.row_index = 0) j
        GROUP BY lo, ro, kl, kr, agree, lc, rc, labelled
    ), a AS (
        SELECT coalesce(sum(n), 0)::bigint AS pairs,
               coalesce(sum(n) FILTER (WHERE labelled), 0)::bigint AS labelled_pairs,
               coalesce(sum(n) FILTER (WHERE agree), 0)::double precision / nullif(sum(n) FILTER (WHERE agree IS NOT NULL), 0)::double precision AS agreement,
               sum(diff_s) / nullif(sum(diff_n), 0)::double precision AS mean_abs_score_diff,
               coalesce(sum(n) FILTER (WHERE lc), 0)::double precision / nullif(sum(n) FILTER (WHERE lc IS NOT NULL), 0)::double precision AS legacy_accuracy,
               coalesce(sum(n) FILTER (WHERE rc), 0)::double precision / nullif(sum(n) FILTER (WHERE rc IS NOT NULL), 0)::double precision AS learner_accuracy,
               coalesce(sum(n) FILTER (WHERE lo IN ('http_error', 'unreachable', 'unparsed')), 0)::double precision
                   / nullif(sum(n) FILTER (WHERE lo <> 'skipped'), 0)::double precision AS ler,
               coalesce(sum(n) FILTER (WHERE ro IN ('http_error', 'unreachable', 'unparsed')), 0)::double precision
                   / nullif(sum(n) FILTER (WHERE ro <> 'skipped'), 0)::double precision AS rer,
               coalesce(sum(n) FILTER (WHERE lo = 'timeout'), 0)::double precision / nullif(sum(n) FILTER (WHERE lo <> 'skipped'), 0)::double precision AS ltr,
               coalesce(sum(n) FILTER (WHERE ro = 'timeout'), 0)::double precision / nullif(sum(n) FILTER (WHERE ro <> 'skipped'), 0)::double precision AS rtr
        FROM g
    ), ct AS (
        -- chi2_2samp's 2 × K table of predicted classes, columns in label order
        SELECT ARRAY[array_agg(ka ORDER BY k), array_agg(kb ORDER BY k)] AS tab
        FROM (SELECT k, coalesce(sum(na), 0)::double precision AS ka, coalesce(sum(nb), 0)::double precision AS kb
              FROM (SELECT kl AS k, n AS na, NULL::bigint AS nb FROM g WHERE kl IS NOT NULL
                    UNION ALL
                    SELECT kr, NULL, n FROM g WHERE kr IS NOT NULL) u
              GROUP BY k) t
        HAVING sum(ka) > 0 AND sum(kb) > 0
    ), h AS MATERIALIZED (
        -- s: 1 legacy scores, 2 learner scores, 3 legacy latency (ms), 4 learner latency (ms);
        -- x the value, n how often it occurs (NULLs are what 0003's FILTERs left out)
        SELECT CASE WHEN GROUPING(xl) = 0 THEN 1 WHEN GROUPING(xr) = 0 THEN 2 WHEN GROUPING(tl) = 0 THEN 3 ELSE 4 END AS s,
               coalesce(xl, xr, tl / 1000.0::double precision, tr / 1000.0::double precision) AS x,
               count(*) AS n
        FROM (SELECT CASE WHEN count_scores AND lo = 'ok' AND ls <> 'NaN' THEN ls END AS xl,
                     CASE WHEN count_scores AND ro = 'ok' AND rs <> 'NaN' THEN rs END AS xr,
                     CASE WHEN count_latencies AND lo <> 'skipped' THEN lt END AS tl,
                     CASE WHEN count_latencies AND ro <> 'skipped' THEN rt END AS tr
              FROM w WHERE count_scores OR count_latencies) v
        GROUP BY GROUPING SETS ((xl), (xr), (tl), (tr))
        HAVING coalesce(xl, xr, tl, tr) IS NOT NULL
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
           a.ler, a.rer, a.ltr, a.rtr
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