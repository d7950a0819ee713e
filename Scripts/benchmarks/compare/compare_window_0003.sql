-- Benchmark baseline: compare_window() as migrations/0003_*.sql defined it up to commit 85424dd,
-- renamed compare_window_0003. Scripts/benchmarks/compare/compare.sh (BASELINE=1) times it next to
-- today's shadowgate.compare() on the same data. Not part of the schema.
--
-- The comparison over pairs of `p_route` received in [p_from, p_to). Definitions (see README):
--   pairs               all pairs in the window; labelled_pairs: those with a row in labels.
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
-- Whatever cannot be computed (empty window, one side without scores, …) is NULL.
CREATE OR REPLACE FUNCTION shadowgate.compare_window_0003(p_route text, p_from timestamptz, p_to timestamptz,
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
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '128MB'  -- the latency percentiles sort the window in memory
AS $$
    WITH w AS (
        SELECT p.legacy_outcome AS lo, p.learner_outcome AS ro,
               p.legacy_score AS ls, p.learner_score AS rs,
               p.legacy_label AS ll, p.learner_label AS rl,
               p.legacy_latency_us AS lt, p.learner_latency_us AS rt,
               l.label AS tl, l.label_value AS tv
        FROM shadowgate.pairs p
        LEFT JOIN shadowgate.labels l ON l.request_id = p.request_id
        WHERE p.route = p_route AND p.received_at >= p_from AND p.received_at < p_to
    ), j AS (
        SELECT *,
               CASE WHEN lo = 'ok' AND ro = 'ok' THEN
                   CASE WHEN ll IS NOT NULL AND rl IS NOT NULL THEN ll = rl
                        WHEN ls IS NOT NULL AND rs IS NOT NULL THEN abs(ls - rs) < tolerance END
               END AS agree,
               CASE WHEN tl IS NULL OR lo <> 'ok' THEN NULL
                    WHEN ll IS NOT NULL THEN ll = tl
                    WHEN ls IS NOT NULL AND tv IS NOT NULL THEN (ls >= threshold) = (tv >= threshold) END AS lc,
               CASE WHEN tl IS NULL OR ro <> 'ok' THEN NULL
                    WHEN rl IS NOT NULL THEN rl = tl
                    WHEN rs IS NOT NULL AND tv IS NOT NULL THEN (rs >= threshold) = (tv >= threshold) END AS rc,
               CASE WHEN lo = 'ok' THEN coalesce(ll, CASE WHEN ls >= threshold THEN '1' WHEN ls < threshold THEN '0' END) END AS lk,
               CASE WHEN ro = 'ok' THEN coalesce(rl, CASE WHEN rs >= threshold THEN '1' WHEN rs < threshold THEN '0' END) END AS rk
        FROM w
    ), a AS (
        SELECT count(*) AS pairs,
               count(tl) AS labelled_pairs,
               avg(agree::int::double precision) AS agreement,
               avg(abs(ls - rs)) AS mean_abs_score_diff,
               avg(lc::int::double precision) AS legacy_accuracy,
               avg(rc::int::double precision) AS learner_accuracy,
               array_agg(ls) FILTER (WHERE lo = 'ok' AND ls IS NOT NULL) AS lsa,
               array_agg(rs) FILTER (WHERE ro = 'ok' AND rs IS NOT NULL) AS rsa,
               array_agg(lk) FILTER (WHERE lk IS NOT NULL) AS lka,
               array_agg(rk) FILTER (WHERE rk IS NOT NULL) AS rka,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY lt / 1000.0::double precision)
                   FILTER (WHERE lo <> 'skipped' AND lt IS NOT NULL) AS lq,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY rt / 1000.0::double precision)
                   FILTER (WHERE ro <> 'skipped' AND rt IS NOT NULL) AS rq,
               avg((lo IN ('http_error', 'unreachable', 'unparsed'))::int::double precision) FILTER (WHERE lo <> 'skipped') AS ler,
               avg((ro IN ('http_error', 'unreachable', 'unparsed'))::int::double precision) FILTER (WHERE ro <> 'skipped') AS rer,
               avg((lo = 'timeout')::int::double precision) FILTER (WHERE lo <> 'skipped') AS ltr,
               avg((ro = 'timeout')::int::double precision) FILTER (WHERE ro <> 'skipped') AS rtr
        FROM j
    )
    SELECT a.pairs, a.labelled_pairs, a.agreement, a.mean_abs_score_diff,
           a.legacy_accuracy, a.learner_accuracy, a.learner_accuracy - a.legacy_accuracy,
           k.d, k.p_value, shadowgate.psi(a.lsa, a.rsa),
           c.statistic, c.p_value,
           a.lq[1], a.lq[2], a.lq[3], a.rq[1], a.rq[2], a.rq[3],
           a.ler, a.rer, a.ltr, a.rtr
    FROM a
    LEFT JOIN LATERAL shadowgate.ks_2samp(a.lsa, a.rsa) k ON true
    LEFT JOIN LATERAL shadowgate.chi2_2samp(a.lka, a.rka) c ON true
$$;