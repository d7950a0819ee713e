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
CREATE OR REPLACE FUNCTION shadowgate.evidence_counts(p_route text,
                                                      p_labelled_from timestamptz, p_labelled_to timestamptz,
                                                      p_pairs_from timestamptz, p_pairs_to timestamptz,
                                                      threshold double precision DEFAULT 0.5)
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
              AND p.learner_version IS NOT NULL
            ORDER BY p.received_at DESC LIMIT 1)
    FROM judged
$$;
