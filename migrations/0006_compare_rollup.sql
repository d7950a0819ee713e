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

-- Up to commit 85424dd this file also replaced the trigger function on pairs, the partition
-- upkeep and compare_window(), defined roll_up_counts() and called it once (backfill, holding
-- LOCK TABLE pairs IN SHARE MODE). The functions' current forms are in functions/
-- (pairs_fill_stats.sql, which takes that lock when it replaces the trigger function,
-- partitions.sql, roll_up_counts.sql, compare.sql); the existing pairs' minutes are rolled up by
-- the pair writer's first roll_up_counts() call (at connect), and compare() is exact before that.

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
