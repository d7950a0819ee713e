-- compare() over a million pairs in under 2 s, and labels per row of a batch request.
--
-- * shadowgate.pair_stats: a narrow companion of shadowgate.pairs holding only the columns the
--   comparison reads (no outputs, features or text the statistics never touch), partitioned by
--   the same UTC days. A statement-level trigger on pairs fills it from the rows each INSERT or
--   COPY actually added, in the same transaction: every writer (the gateway's COPY batches, the
--   spool replay's INSERT … ON CONFLICT DO NOTHING, hand-written SQL) keeps the two in step, and
--   a row skipped as a duplicate is not copied twice. Existing pairs are copied here (backfill).
-- * compare_window() reads pair_stats and computes every distribution statistic from per-value
--   counts (hash aggregation) instead of sorting arrays of a million scores: same results.
-- * shadowgate.labels is keyed by (request_id, row_index): every row of a batch request can
--   carry its own label; received_at is when the gateway received the label (the writer upserts
--   the latest). compare() compares the pair's scores, which are row 0's prediction, so it joins
--   row 0's label only.

-- ---------------------------------------------------------------------------------------------
-- The narrow companion table
-- ---------------------------------------------------------------------------------------------

-- 8-byte columns first: no alignment padding between them and the varlena columns.
CREATE TABLE shadowgate.pair_stats (
    received_at         timestamptz      NOT NULL,
    legacy_score        double precision,
    learner_score       double precision,
    legacy_latency_us   bigint,
    learner_latency_us  bigint,
    route               text             NOT NULL,
    request_id          text             NOT NULL,
    legacy_outcome      text             NOT NULL,
    learner_outcome     text             NOT NULL,
    legacy_label        text,
    learner_label       text
) PARTITION BY RANGE (received_at);

COMMENT ON TABLE shadowgate.pair_stats IS
    'The statistics columns of shadowgate.pairs (filled by a trigger on pairs); what compare() reads.';

CREATE INDEX pair_stats_route_received_at_idx ON shadowgate.pair_stats (route, received_at);

CREATE TABLE shadowgate.pair_stats_default PARTITION OF shadowgate.pair_stats DEFAULT;

-- A statement-level trigger with a transition table: one INSERT … SELECT per COPY or INSERT
-- statement instead of a call per row, and the transition table holds only rows really added
-- (ON CONFLICT DO NOTHING skips are not in it).
CREATE FUNCTION shadowgate.pairs_fill_stats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO shadowgate.pair_stats (received_at, legacy_score, learner_score, legacy_latency_us,
        learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label)
    SELECT received_at, legacy_score, learner_score, legacy_latency_us,
           learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label
    FROM added;
    RETURN NULL;
END
$$;

CREATE TRIGGER pairs_fill_stats AFTER INSERT ON shadowgate.pairs
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION shadowgate.pairs_fill_stats();

-- ---------------------------------------------------------------------------------------------
-- Partition upkeep for both tables (replaces 0002's functions, same signatures and promises)
-- ---------------------------------------------------------------------------------------------

-- Day partition `<table>_pYYYYMMDD` of shadowgate.<table> for day d, unless it exists; rows
-- already in <table>_default for that day are moved into it. True when it was created.
CREATE FUNCTION shadowgate._ensure_day_partition(tbl text, d date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part text := tbl || '_p' || to_char(d, 'YYYYMMDD');
    lo   timestamptz := d::timestamp AT TIME ZONE 'UTC';
    hi   timestamptz := (d + 1)::timestamp AT TIME ZONE 'UTC';
    held boolean;
BEGIN
    IF to_regclass(format('shadowgate.%I', part)) IS NOT NULL THEN RETURN false; END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM shadowgate.%I WHERE received_at >= $1 AND received_at < $2)',
                   tbl || '_default') INTO held USING lo, hi;
    IF held THEN
        -- Rows are moved into the detached table directly, so the trigger on pairs does not fire.
        EXECUTE format('CREATE TABLE shadowgate.%I (LIKE shadowgate.%I INCLUDING DEFAULTS)', part, tbl);
        EXECUTE format('WITH moved AS (DELETE FROM shadowgate.%I
                                       WHERE received_at >= $1 AND received_at < $2 RETURNING *)
                        INSERT INTO shadowgate.%I SELECT * FROM moved', tbl || '_default', part) USING lo, hi;
        EXECUTE format('ALTER TABLE shadowgate.%I ATTACH PARTITION shadowgate.%I FOR VALUES FROM (%L) TO (%L)',
                       tbl, part, lo, hi);
    ELSE
        EXECUTE format('CREATE TABLE shadowgate.%I PARTITION OF shadowgate.%I FOR VALUES FROM (%L) TO (%L)',
                       part, tbl, lo, hi);
    END IF;
    RETURN true;
END
$$;

-- Creates the daily partitions of pairs (and of pair_stats) from `days_back` days ago to
-- `days_ahead` days ahead (UTC) that do not exist yet; returns how many pairs partitions it created.
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
    END LOOP;
    RETURN created;
END
$$;

-- Drops the daily partitions of pairs and pair_stats whose whole day is more than `days` days
-- before today (UTC) and deletes rows that old from the default partitions. Returns how many
-- pairs partitions it dropped.
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
    FOREACH tbl IN ARRAY ARRAY['pairs', 'pair_stats'] LOOP
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

-- Backfill: a pair_stats partition for every day partition pairs has, then the rows.
DO $$
DECLARE
    part text;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'shadowgate.pairs'::regclass AND c.relname ~ '^pairs_p[0-9]{8}$'
    LOOP
        PERFORM shadowgate._ensure_day_partition('pair_stats', to_date(right(part, 8), 'YYYYMMDD'));
    END LOOP;
END
$$;

INSERT INTO shadowgate.pair_stats (received_at, legacy_score, learner_score, legacy_latency_us,
    learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label)
SELECT received_at, legacy_score, learner_score, legacy_latency_us,
       learner_latency_us, route, request_id, legacy_outcome, learner_outcome, legacy_label, learner_label
FROM shadowgate.pairs;

ANALYZE shadowgate.pair_stats;

-- ---------------------------------------------------------------------------------------------
-- Labels per row of a batch request
-- ---------------------------------------------------------------------------------------------

-- Existing labels were for whole requests: they become row 0's.
ALTER TABLE shadowgate.labels ADD COLUMN row_index int NOT NULL DEFAULT 0 CHECK (row_index >= 0);
ALTER TABLE shadowgate.labels DROP CONSTRAINT labels_pkey;
ALTER TABLE shadowgate.labels ADD PRIMARY KEY (request_id, row_index);

COMMENT ON TABLE shadowgate.labels IS
    'Ground-truth labels (feedback) per request_id and row_index (the row of a batch request, 0 for a single prediction); '
    'label_value is the numeric label when label parses as a number.';

-- ---------------------------------------------------------------------------------------------
-- Statistics from per-value counts
-- ---------------------------------------------------------------------------------------------

-- PSI from the bucket counts of both samples, in bucket order (kr[i], kc[i]: the counts of the
-- same bucket, NULL when that sample has none there; nr, nc: the sample sizes). A fraction of
-- exactly 0 becomes eps. Summed in bucket order, so every caller gets the same bits.
CREATE FUNCTION shadowgate._psi_from_counts(kr bigint[], kc bigint[], nr bigint, nc bigint,
                                            eps double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    pr double precision;
    pc double precision;
    s  double precision;
BEGIN
    IF nr IS NULL OR nc IS NULL OR nr = 0 OR nc = 0 THEN RETURN NULL; END IF;
    FOR i IN 1..coalesce(cardinality(kr), 0) LOOP
        pr := CASE WHEN kr[i] IS NULL THEN eps ELSE kr[i]::double precision / nr END;
        pc := CASE WHEN kc[i] IS NULL THEN eps ELSE kc[i]::double precision / nc END;
        s := coalesce(s + (pc - pr) * ln(pc / pr), (pc - pr) * ln(pc / pr));
    END LOOP;
    RETURN s;
END
$$;

-- psi() as in 0003 (same edges, buckets and eps rule), summing through _psi_from_counts so that
-- compare() — which counts buckets from per-value counts — returns the very same value.
CREATE OR REPLACE FUNCTION shadowgate.psi(reference double precision[], current double precision[],
                                          buckets int DEFAULT 10, eps double precision DEFAULT 1e-4)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET work_mem = '128MB'
AS $$
DECLARE
    nr     bigint;
    nc     bigint;
    qs     double precision[];
    edges  double precision[];
    kr     bigint[];
    kc     bigint[];
BEGIN
    SELECT count(*), percentile_cont(ARRAY(SELECT i::double precision / buckets FROM generate_series(1, buckets - 1) i))
                         WITHIN GROUP (ORDER BY x)
      INTO nr, qs
      FROM unnest(reference) x WHERE x IS NOT NULL AND x <> 'NaN';
    SELECT count(*) INTO nc FROM unnest(current) x WHERE x IS NOT NULL AND x <> 'NaN';
    IF nr = 0 OR nc = 0 THEN RETURN NULL; END IF;
    edges := ARRAY(SELECT DISTINCT u FROM unnest(qs) u ORDER BY u);
    SELECT array_agg(k1 ORDER BY b), array_agg(k2 ORDER BY b) INTO kr, kc
    FROM (SELECT width_bucket(x, edges) AS b, count(*) FILTER (WHERE s = 1) AS k1, count(*) FILTER (WHERE s = 2) AS k2
          FROM (SELECT x, 1 AS s FROM unnest(reference) x UNION ALL SELECT x, 2 FROM unnest(current) x) v
          WHERE x IS NOT NULL AND x <> 'NaN' GROUP BY 1) t;
    RETURN shadowgate._psi_from_counts(array_replace(kr, 0::bigint, NULL), array_replace(kc, 0::bigint, NULL), nr, nc, eps);
END
$$;

-- percentile_cont(p) WITHIN GROUP (ORDER BY x) from per-value counts: `xs` the distinct values in
-- ascending order, `cum` the running count up to and including each, `ps` the fractions. The
-- same arithmetic as PostgreSQL's (rows floor/ceil of p·(n−1), x_lo + (pos − lo)·(x_hi − x_lo)),
-- so the results are bit for bit those of percentile_cont over the expanded sample. NULL when empty.
CREATE FUNCTION shadowgate._percentiles_from_counts(xs double precision[], cum bigint[],
                                                    ps double precision[])
RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m      int := coalesce(cardinality(xs), 0);
    n      bigint;
    pos    double precision;
    lo     bigint;
    hi     bigint;
    xlo    double precision;
    xhi    double precision;
    result double precision[] := '{}';
BEGIN
    IF m = 0 THEN RETURN NULL; END IF;
    n := cum[m];
    FOREACH pos IN ARRAY ps LOOP
        pos := pos * (n - 1);
        lo := floor(pos)::bigint;
        hi := ceil(pos)::bigint;
        xlo := shadowgate._value_at_rank(xs, cum, lo);
        IF lo = hi THEN
            result := result || xlo;
        ELSE
            xhi := shadowgate._value_at_rank(xs, cum, hi);
            result := result || (xlo + (pos - lo) * (xhi - xlo));
        END IF;
    END LOOP;
    RETURN result;
END
$$;

-- The value at 0-based rank r of the sample described by (xs, cum): binary search for the first
-- running count above r.
CREATE FUNCTION shadowgate._value_at_rank(xs double precision[], cum bigint[], r bigint)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    a int := 1;
    b int := cardinality(xs);
    c int;
BEGIN
    WHILE a < b LOOP
        c := (a + b) / 2;
        IF cum[c] > r THEN b := c; ELSE a := c + 1; END IF;
    END LOOP;
    RETURN xs[a];
END
$$;

-- ---------------------------------------------------------------------------------------------
-- compare_window over pair_stats
-- ---------------------------------------------------------------------------------------------

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
