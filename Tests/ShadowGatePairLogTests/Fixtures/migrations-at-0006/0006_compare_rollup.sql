-- compare() over a million pairs in well under 2 s: per-minute value counts and a parallel
-- counting pass.
--
-- * shadowgate.pair_value_counts: per route and UTC minute, how often each value of the four
--   distributions compare() reads occurs — legacy and learner scores (of `ok` answers, NaN
--   left out) and legacy and learner latencies in µs (of calls made). Counts add up exactly, so
--   a window reads its rolled-up whole minutes here (about 60 × the distinct values per hour
--   instead of every pair) and everything else (minutes not rolled up yet, the partial minutes
--   at its two ends) from pair_stats.
-- * Rolled up, not maintained per statement: shadowgate.roll_up_counts() (the pair writer calls
--   it every 30 s) aggregates, per route, the complete minutes after the route's watermark
--   (shadowgate.rollup_watermarks) up to now − 2 minutes from pair_stats into pair_value_counts
--   and advances the watermark. The trigger on pairs does 0005's work (fill pair_stats) plus one
--   watermark lookup per statement; only rows older than their route's watermark (late rows:
--   spool replays after an outage, a transaction open for minutes) are upserted into the counts.
--   An upsert per COPY batch cost the writer half its throughput; the roll-up costs it nothing.
--   Writers hold a shared advisory lock from their trigger to their commit, the roll-up the
--   exclusive one: a pair not yet committed when a roll-up reads its minute is either seen by
--   it or upserted as late after it, never lost, never counted twice.
-- * compare_window() counts its scalar metrics grouped by the outcome and label columns only,
--   with a count per condition (agreement, right/wrong, which side of the threshold) instead of
--   grouping by those conditions: the planner knows how few groups that makes and runs the
--   labels join and the counting in parallel workers (partial aggregation).
-- Results are those of 0005 (mean_abs_score_diff summed in another order, ~1e-13 relative).

-- Pairs written while this runs would otherwise be copied to pair_stats by the old trigger
-- function and missed by the backfill below: writers wait for this migration instead.
LOCK TABLE shadowgate.pairs IN SHARE MODE;

-- ---------------------------------------------------------------------------------------------
-- Per-minute value counts
-- ---------------------------------------------------------------------------------------------

CREATE TABLE shadowgate.pair_value_counts (
    received_at  timestamptz      NOT NULL,  -- start of the UTC minute
    x            double precision NOT NULL,  -- the value (latencies in µs)
    n            bigint           NOT NULL,  -- how many pairs of the minute have it
    -- 1 legacy_score, 2 learner_score, 3 legacy_latency_us, 4 learner_latency_us (no CHECK:
    -- _ensure_day_partition's LIKE … INCLUDING DEFAULTS would not copy it and ATTACH would fail)
    s            smallint         NOT NULL,
    route        text             NOT NULL,
    PRIMARY KEY (route, received_at, s, x)
) PARTITION BY RANGE (received_at);

COMMENT ON TABLE shadowgate.pair_value_counts IS
    'Per route and UTC minute, how many pairs have each score (ok answers, no NaN) and latency (calls made) '
    'per model (filled by the trigger on pairs); compare() reads whole minutes here.';

CREATE TABLE shadowgate.pair_value_counts_default PARTITION OF shadowgate.pair_value_counts DEFAULT;

-- Per route, the end (exclusive, a UTC minute boundary) of the minutes already rolled up into
-- pair_value_counts: the counts of every minute before it are complete; pairs of those minutes
-- written later (late rows) are added by the trigger on pairs. A route without a row has no counts.
CREATE TABLE shadowgate.rollup_watermarks (
    route         text        PRIMARY KEY,
    rolled_until  timestamptz NOT NULL
);

COMMENT ON TABLE shadowgate.rollup_watermarks IS
    'Per route, until when (exclusive) pair_value_counts holds complete per-minute counts (roll_up_counts() advances it).';

-- 0005's work, plus the late rows' counts. Normal case (no row older than its route's
-- watermark): one shared advisory lock and one look at rollup_watermarks per statement.
CREATE OR REPLACE FUNCTION shadowgate.pairs_fill_stats() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    oldest_wm timestamptz;
BEGIN
    INSERT INTO shadowgate.pair_stats (received_at, legacy_score, learner_score, legacy_latency_us,
        learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label)
    SELECT received_at, legacy_score, learner_score, legacy_latency_us,
           learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label
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

-- ---------------------------------------------------------------------------------------------
-- Partition upkeep for the three tables (same signatures and promises as 0005's)
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION shadowgate.ensure_partitions(days_ahead int, days_back int DEFAULT 1)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    today   date := (now() AT TIME ZONE 'UTC')::date;
    d       date;
    created int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shadowgate.pairs.partitions'));
    FOR d IN SELECT generate_series(today - days_back, today + days_ahead, interval '1 day')::date LOOP
        IF shadowgate._ensure_day_partition('pairs', d) THEN created := created + 1; END IF;
        PERFORM shadowgate._ensure_day_partition('pair_stats', d);
        PERFORM shadowgate._ensure_day_partition('pair_value_counts', d);
    END LOOP;
    RETURN created;
END
$$;

CREATE OR REPLACE FUNCTION shadowgate.drop_partitions_older_than(days int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    cutoff  date := (now() AT TIME ZONE 'UTC')::date - days;
    tbl     text;
    part    text;
    dropped int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shadowgate.pairs.partitions'));
    FOREACH tbl IN ARRAY ARRAY['pairs', 'pair_stats', 'pair_value_counts'] LOOP
        FOR part IN
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = format('shadowgate.%I', tbl)::regclass AND c.relname ~ ('^' || tbl || '_p[0-9]{8}$')
              AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
            ORDER BY c.relname
        LOOP
            EXECUTE format('DROP TABLE shadowgate.%I', part);
            IF tbl = 'pairs' THEN dropped := dropped + 1; END IF;
        END LOOP;
        EXECUTE format('DELETE FROM shadowgate.%I WHERE received_at < $1', tbl || '_default')
            USING cutoff::timestamp AT TIME ZONE 'UTC';
    END LOOP;
    RETURN dropped;
END
$$;

-- A pair_value_counts partition for every day partition pair_stats has.
DO $$
DECLARE
    part text;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'shadowgate.pair_stats'::regclass AND c.relname ~ '^pair_stats_p[0-9]{8}$'
    LOOP
        PERFORM shadowgate._ensure_day_partition('pair_value_counts', to_date(right(part, 8), 'YYYYMMDD'));
    END LOOP;
END
$$;

-- Rolls up, per route, the complete minutes after its watermark and before now − 2 minutes:
-- their counts from pair_stats (plain INSERT: those minutes have no counts yet), then the
-- watermark. One transaction; concurrent calls and writers' triggers wait on the advisory lock.
-- A route's first watermark is the start of its oldest pair's minute. Returns the minutes rolled up.
CREATE FUNCTION shadowgate.roll_up_counts() RETURNS bigint
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

-- Backfill: the existing pairs' minutes, as the writer's first roll-up would.
SELECT shadowgate.roll_up_counts();

ANALYZE shadowgate.pair_value_counts;

-- ---------------------------------------------------------------------------------------------
-- compare_window over pair_stats and pair_value_counts
-- ---------------------------------------------------------------------------------------------

-- Same signature, columns and results as 0005's (see there and migrations/README.md). What
-- changed: the whole minutes of the window up to the route's roll-up watermark are counted
-- from pair_value_counts (the rest of the window from pair_stats), and the scalar metrics are counted grouped by
-- outcomes and model labels only, which the planner runs in parallel.
CREATE OR REPLACE FUNCTION shadowgate.compare_window(p_route text, p_from timestamptz, p_to timestamptz,
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
               sum(abs(ls - rs)) AS diff_s, count(abs(ls - rs)) AS diff_n
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
               coalesce(sum(n) FILTER (WHERE ro = 'timeout'), 0)::double precision / nullif(sum(n) FILTER (WHERE ro <> 'skipped'), 0)::double precision AS rtr
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
