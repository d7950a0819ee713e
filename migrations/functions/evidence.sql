-- The promotion controller's evidence: what both models did on the same requests, as counts, for
-- the requests received in (p_pairs_from, p_pairs_to] (calls, errors, timeouts) and, of those
-- received in (p_labelled_from, p_labelled_to], the labelled ones (paired correctness). The
-- controller moves both watermarks forward each evaluation, p_labelled_to lagging by the route's
-- label_delay, so every request is counted once and only after its label had time to arrive.
--
-- Only requests where both models were called (neither outcome 'skipped') count. A model is right
-- as in compare_window(): its outcome is 'ok' and its label equals the true label, or, for a score
-- and a numeric label, (score >= threshold) = (label >= threshold); a model that failed is wrong.
-- Errors are 'http_error', 'unreachable', 'unparsed'; timeouts 'timeout'.
-- learner_version: the learner's version on the latest request of the pairs range (NULL if none).
-- p_holdout_only: count only the route's legacy holdout (pair_stats.holdout; promotion
-- `evidence: holdout`), requests always served by legacy whose labels the learner never gets.
--
-- The signatures before p_holdout_only was added are dropped first (CREATE OR REPLACE with one
-- more argument would add an overload, and calls with the defaults would be ambiguous).
DROP FUNCTION IF EXISTS shadowgate.evidence_counts(text, timestamptz, timestamptz, timestamptz, timestamptz, double precision);
DROP FUNCTION IF EXISTS shadowgate.regression_evidence(text, timestamptz, timestamptz, double precision);
CREATE OR REPLACE FUNCTION shadowgate.evidence_counts(p_route text,
                                                      p_labelled_from timestamptz, p_labelled_to timestamptz,
                                                      p_pairs_from timestamptz, p_pairs_to timestamptz,
                                                      threshold double precision DEFAULT 0.5,
                                                      p_holdout_only boolean DEFAULT false)
RETURNS TABLE (pairs bigint, learner_errors bigint, legacy_errors bigint, both_errors bigint,
               learner_timeouts bigint, legacy_timeouts bigint, both_timeouts bigint,
               labelled bigint, learner_only_right bigint, legacy_only_right bigint, both_right bigint,
               learner_version text)
LANGUAGE sql STABLE AS $$
    WITH called AS (
        SELECT s.request_id, s.received_at, s.legacy_outcome AS lo, s.learner_outcome AS ro,
               s.legacy_score AS ls, s.learner_score AS rs, s.legacy_label AS ll, s.learner_label AS rl
        FROM shadowgate.pair_stats s
        WHERE s.route = p_route AND s.legacy_outcome <> 'skipped' AND s.learner_outcome <> 'skipped'
          AND (s.holdout OR NOT p_holdout_only)
          AND ((s.received_at > p_pairs_from AND s.received_at <= p_pairs_to)
               OR (s.received_at > p_labelled_from AND s.received_at <= p_labelled_to))
    ), judged AS (
        SELECT c.*, c.received_at > p_pairs_from AND c.received_at <= p_pairs_to AS in_pairs,
               l.label IS NOT NULL AND c.received_at > p_labelled_from AND c.received_at <= p_labelled_to AS in_labelled,
               coalesce(c.lo = 'ok' AND CASE WHEN c.ll IS NOT NULL THEN c.ll = l.label
                                             WHEN c.ls IS NOT NULL AND l.label_value IS NOT NULL THEN (c.ls >= threshold) = (l.label_value >= threshold)
                                        END, false) AS legacy_right,
               coalesce(c.ro = 'ok' AND CASE WHEN c.rl IS NOT NULL THEN c.rl = l.label
                                             WHEN c.rs IS NOT NULL AND l.label_value IS NOT NULL THEN (c.rs >= threshold) = (l.label_value >= threshold)
                                        END, false) AS learner_right,
               c.lo IN ('http_error', 'unreachable', 'unparsed') AS legacy_error,
               c.ro IN ('http_error', 'unreachable', 'unparsed') AS learner_error
        FROM called c LEFT JOIN shadowgate.labels l ON l.request_id = c.request_id AND l.row_index = 0
    )
    SELECT count(*) FILTER (WHERE in_pairs),
           count(*) FILTER (WHERE in_pairs AND learner_error),
           count(*) FILTER (WHERE in_pairs AND legacy_error),
           count(*) FILTER (WHERE in_pairs AND learner_error AND legacy_error),
           count(*) FILTER (WHERE in_pairs AND ro = 'timeout'),
           count(*) FILTER (WHERE in_pairs AND lo = 'timeout'),
           count(*) FILTER (WHERE in_pairs AND ro = 'timeout' AND lo = 'timeout'),
           count(*) FILTER (WHERE in_labelled),
           count(*) FILTER (WHERE in_labelled AND learner_right AND NOT legacy_right),
           count(*) FILTER (WHERE in_labelled AND legacy_right AND NOT learner_right),
           count(*) FILTER (WHERE in_labelled AND legacy_right AND learner_right),
           (SELECT p.learner_version FROM shadowgate.pairs p
            WHERE p.route = p_route AND p.received_at > p_pairs_from AND p.received_at <= p_pairs_to
              AND p.learner_version IS NOT NULL AND (p.holdout OR NOT p_holdout_only)
            ORDER BY p.received_at DESC LIMIT 1)
    FROM judged
$$;

-- A regression route's evidence: for the labelled requests received in (p_labelled_from,
-- p_labelled_to] where both models answered 'ok' with a score and the label is a number, the
-- paired difference of clipped errors d = min(|learner_score - label|, p_clip)^p
-- - min(|legacy_score - label|, p_clip)^p for p = 1 (absolute) and p = 2 (squared), counted per
-- bucket of the square-root grid that QuantizedDifferenceEvidence (Sources/ShadowGateEvidence)
-- defines: 0 for d = 0, else sign(d) * least(1 + floor(128 * sqrt(|d| / C)), 128), C = p_clip^p.
-- One row per (power, bucket) with the count and the sums of d and d^2 (so the estimate is exact;
-- the bucket counts carry the confidence sequence). p_holdout_only as for evidence_counts().
CREATE OR REPLACE FUNCTION shadowgate.regression_evidence(p_route text, p_labelled_from timestamptz, p_labelled_to timestamptz,
                                                          p_clip double precision, p_holdout_only boolean DEFAULT false)
RETURNS TABLE (power integer, bucket integer, n bigint, sum_d double precision, sum_d2 double precision)
LANGUAGE sql STABLE AS $$
    WITH e AS (
        SELECT least(abs(s.legacy_score - l.label_value), p_clip) AS el,
               least(abs(s.learner_score - l.label_value), p_clip) AS er
        FROM shadowgate.pair_stats s
        JOIN shadowgate.labels l ON l.request_id = s.request_id AND l.row_index = 0
        WHERE s.route = p_route AND s.received_at > p_labelled_from AND s.received_at <= p_labelled_to
          AND s.legacy_outcome = 'ok' AND s.learner_outcome = 'ok'
          AND s.legacy_score <> 'NaN' AND s.learner_score <> 'NaN' AND l.label_value <> 'NaN'
          AND (s.holdout OR NOT p_holdout_only)
    ), d AS (
        SELECT p.power, CASE WHEN p.power = 1 THEN e.er - e.el ELSE e.er * e.er - e.el * e.el END AS d,
               CASE WHEN p.power = 1 THEN p_clip ELSE p_clip * p_clip END AS c
        FROM e CROSS JOIN (VALUES (1), (2)) p(power)
    )
    SELECT d.power,
           CASE WHEN d.d = 0 THEN 0
                ELSE (sign(d.d) * least(1 + floor(128 * sqrt(least(abs(d.d), d.c) / d.c)), 128))::integer END AS bucket,
           count(*), sum(d.d), sum(d.d * d.d)
    FROM d
    GROUP BY 1, 2
    ORDER BY 1, 2
$$;
