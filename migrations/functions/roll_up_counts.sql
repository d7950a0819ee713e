-- The per-minute roll-up of value counts (shadowgate.pair_value_counts, shadowgate.rollup_watermarks).

-- Rolls up, per route, the complete minutes after its watermark and before now − 2 minutes:
-- their counts from pair_stats (plain INSERT: those minutes have no counts yet), then the
-- watermark. One transaction; concurrent calls and writers' triggers wait on the advisory lock.
-- A route's first watermark is the start of its oldest pair's minute. Returns the minutes rolled up.
CREATE OR REPLACE FUNCTION shadowgate.roll_up_counts() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    upto    timestamptz := date_bin('1 minute', now() - interval '2 minutes', '2001-01-01 00:00:00+00');
    r       record;
    minutes bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shadowgate.pair_value_counts.rollup'));
    FOR r IN
        -- every route of pair_stats (a skip scan of its (route, received_at) index) and its watermark
        WITH RECURSIVE routes(route) AS (
            (SELECT route FROM shadowgate.pair_stats ORDER BY route LIMIT 1)
            UNION ALL
            SELECT (SELECT p.route FROM shadowgate.pair_stats p WHERE p.route > routes.route ORDER BY p.route LIMIT 1)
            FROM routes WHERE routes.route IS NOT NULL
        )
        SELECT routes.route,
               coalesce(w.rolled_until,
                        (SELECT date_bin('1 minute', min(p.received_at), '2001-01-01 00:00:00+00')
                         FROM shadowgate.pair_stats p WHERE p.route = routes.route)) AS since
        FROM routes LEFT JOIN shadowgate.rollup_watermarks w ON w.route = routes.route
        WHERE routes.route IS NOT NULL
    LOOP
        CONTINUE WHEN NOT r.since < upto;
        INSERT INTO shadowgate.pair_value_counts (route, received_at, s, x, n)
        SELECT p.route, m, s, x, count(*)
        FROM shadowgate.pair_stats p
        CROSS JOIN LATERAL (
            SELECT date_bin('1 minute', p.received_at, '2001-01-01 00:00:00+00') AS m, u.s, u.x
            FROM (VALUES (1::smallint, CASE WHEN p.legacy_outcome = 'ok' AND p.legacy_score <> 'NaN' THEN p.legacy_score END),
                         (2::smallint, CASE WHEN p.learner_outcome = 'ok' AND p.learner_score <> 'NaN' THEN p.learner_score END),
                         (3::smallint, CASE WHEN p.legacy_outcome <> 'skipped' THEN p.legacy_latency_us::double precision END),
                         (4::smallint, CASE WHEN p.learner_outcome <> 'skipped' THEN p.learner_latency_us::double precision END)) u(s, x)
            WHERE u.x IS NOT NULL) v
        WHERE p.route = r.route AND p.received_at >= r.since AND p.received_at < upto
        GROUP BY p.route, m, s, x;
        INSERT INTO shadowgate.rollup_watermarks AS w (route, rolled_until) VALUES (r.route, upto)
        ON CONFLICT (route) DO UPDATE SET rolled_until = excluded.rolled_until;
        minutes := minutes + extract(epoch FROM upto - r.since)::bigint / 60;
    END LOOP;
    RETURN minutes;
END
$$;

COMMENT ON FUNCTION shadowgate.roll_up_counts() IS
    'Counts the complete minutes (before now - 2 min) not rolled up yet into pair_value_counts and advances rollup_watermarks; the pair writer calls it every 30 s.';
