-- The trigger on shadowgate.pairs that keeps shadowgate.pair_stats (and the late rows' value
-- counts) in step with every INSERT or COPY statement: one INSERT … SELECT per statement from its
-- transition table, which holds only rows really added (ON CONFLICT DO NOTHING skips are not in
-- it). Rows inserted straight into a partition, UPDATEs and DELETEs are not mirrored.

-- Writers in flight commit before the trigger function is replaced, and later ones wait for this
-- transaction: no transaction writes pairs partly under the old function and partly under the
-- new one (0006 took the same lock when it replaced the function).
LOCK TABLE shadowgate.pairs IN SHARE MODE;

-- Fills pair_stats from the rows a statement added; rows older than their route's roll-up
-- watermark (late rows: spool replays after an outage, a transaction held open for minutes) are
-- also upserted into pair_value_counts. Normal case (no late row): one shared advisory lock and
-- one look at rollup_watermarks per statement.
CREATE OR REPLACE FUNCTION shadowgate.pairs_fill_stats() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    oldest_wm timestamptz;
BEGIN
    INSERT INTO shadowgate.pair_stats (received_at, legacy_score, learner_score, legacy_latency_us,
        learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label, holdout)
    SELECT received_at, legacy_score, learner_score, legacy_latency_us,
           learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label, holdout
    FROM added;
    -- Held until this transaction ends: a roll-up waits for these pairs to be committed (and
    -- then counts them), or has committed before the watermark below is read (they are late).
    PERFORM pg_advisory_xact_lock_shared(hashtext('shadowgate.pair_value_counts.rollup'));
    SELECT min(rolled_until) INTO oldest_wm FROM shadowgate.rollup_watermarks;
    IF oldest_wm IS NULL OR NOT EXISTS (SELECT 1 FROM added WHERE received_at < oldest_wm) THEN
        RETURN NULL;
    END IF;
    -- the same counts (and filters) as roll_up_counts() and compare_window's, of the late rows only
    INSERT INTO shadowgate.pair_value_counts AS c (route, received_at, s, x, n)
    SELECT route, m, s, x, count(*)
    FROM (SELECT a.* FROM added a JOIN shadowgate.rollup_watermarks w
            ON w.route = a.route AND a.received_at < w.rolled_until) r
    CROSS JOIN LATERAL (
        SELECT date_bin('1 minute', r.received_at, '2001-01-01 00:00:00+00') AS m, u.s, u.x
        FROM (VALUES (1::smallint, CASE WHEN r.legacy_outcome = 'ok' AND r.legacy_score <> 'NaN' THEN r.legacy_score END),
                     (2::smallint, CASE WHEN r.learner_outcome = 'ok' AND r.learner_score <> 'NaN' THEN r.learner_score END),
                     (3::smallint, CASE WHEN r.legacy_outcome <> 'skipped' THEN r.legacy_latency_us::double precision END),
                     (4::smallint, CASE WHEN r.learner_outcome <> 'skipped' THEN r.learner_latency_us::double precision END)) u(s, x)
        WHERE u.x IS NOT NULL) v
    GROUP BY route, m, s, x
    ORDER BY route, m, s, x  -- rows locked in key order: concurrent statements wait, never deadlock
    ON CONFLICT (route, received_at, s, x) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS pairs_fill_stats ON shadowgate.pairs;
CREATE TRIGGER pairs_fill_stats AFTER INSERT ON shadowgate.pairs
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION shadowgate.pairs_fill_stats();
