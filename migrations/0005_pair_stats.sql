-- compare() over a million pairs in under 2 s, and labels per row of a batch request.
--
-- Up to commit 85424dd this file also defined the trigger function filling pair_stats, the
-- partition upkeep for both tables, the per-value-count helpers and compare_window() over
-- pair_stats; their current forms are in functions/ (pairs_fill_stats.sql, partitions.sql,
-- psi.sql, percentiles_from_counts.sql, compare.sql). What the bullets below say about them is
-- what this file introduced.
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

-- Backfill: the pairs already there (into pair_stats_default; applying functions/partitions.sql
-- afterwards, in the same transaction, moves them into day partitions like pairs').
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
