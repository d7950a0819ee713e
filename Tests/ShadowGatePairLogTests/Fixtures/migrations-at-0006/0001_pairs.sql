-- The paired prediction log: one row per request seen by both (or one) of a route's models.
-- Partitioned by day on received_at (UTC days; partitions named pairs_pYYYYMMDD, created ahead
-- by shadowgate.ensure_partitions, see 0002). Rows outside every day partition land in
-- pairs_default, so a missing partition never loses a pair.
--
-- The primary key must contain the partition key, so it is (request_id, received_at). The
-- writer stamps received_at once per request, so a replayed pair has the same key and
-- INSERT ... ON CONFLICT DO NOTHING makes replay idempotent on request_id.
CREATE SCHEMA IF NOT EXISTS shadowgate;

CREATE TABLE shadowgate.pairs (
    request_id          text             NOT NULL,
    route               text             NOT NULL,
    received_at         timestamptz      NOT NULL,
    served_by           text             NOT NULL,   -- legacy | learner
    mode                text             NOT NULL,   -- legacy | shadow | canary | promoted
    canary_percent      double precision NOT NULL DEFAULT 0,
    legacy_status       int,                         -- HTTP status; NULL when no response
    learner_status      int,
    legacy_latency_us   bigint,                      -- request sent → last byte; NULL when not called
    learner_latency_us  bigint,
    legacy_outcome      text             NOT NULL,   -- ok | unparsed | http_error | timeout | unreachable | skipped
    learner_outcome     text             NOT NULL,
    legacy_error        text,
    learner_error       text,
    legacy_output       jsonb,
    learner_output      jsonb,
    legacy_score        double precision,            -- first number of the predictions
    learner_score       double precision,
    legacy_label        text,                        -- first string of the predictions
    learner_label       text,
    legacy_version      text,
    learner_version     text,
    shadow_skip         text,                        -- why the shadow was not called; NULL when it was
    features            jsonb,                       -- request features when captured and under the cap
    features_truncated  boolean          NOT NULL DEFAULT false,
    PRIMARY KEY (request_id, received_at)
) PARTITION BY RANGE (received_at);

COMMENT ON TABLE shadowgate.pairs IS
    'One row per request: both models'' predictions, statuses, latencies and versions. Partitioned by UTC day.';

CREATE INDEX pairs_route_received_at_idx ON shadowgate.pairs (route, received_at);

CREATE TABLE shadowgate.pairs_default PARTITION OF shadowgate.pairs DEFAULT;
