-- Feature flags, the rollout audit trail and the promotion controller's state.
--
-- shadowgate.flags is the shared truth of every route's traffic split: every gateway replica
-- applies it (LISTEN shadowgate_flags + a periodic re-read). The config file only seeds a
-- route's row the first time a gateway with that route starts; afterwards the row wins, so a
-- restart never undoes a rollout.
--
-- Every change — by a person (CLI, admin API) or by the promotion controller — goes through
-- shadowgate.set_flags(), which writes the flags and its shadowgate.rollout_events row in one
-- transaction, with the comparison metrics at that moment.
--
-- The functions and the NOTIFY trigger (up to commit 85424dd defined here) are in
-- functions/flags.sql.

CREATE TABLE shadowgate.flags (
    route           text             PRIMARY KEY,
    mode            text             NOT NULL CHECK (mode IN ('legacy', 'shadow', 'canary', 'promoted')),
    canary_percent  double precision NOT NULL DEFAULT 0   CHECK (canary_percent >= 0 AND canary_percent <= 100),
    shadow_percent  double precision NOT NULL DEFAULT 100 CHECK (shadow_percent >= 0 AND shadow_percent <= 100),
    revision        bigint           NOT NULL DEFAULT 1,   -- +1 per change; writers may require the one they read
    updated_at      timestamptz      NOT NULL DEFAULT clock_timestamp(),
    updated_by      text             NOT NULL,
    reason          text             NOT NULL DEFAULT ''
);

COMMENT ON TABLE shadowgate.flags IS
    'Live traffic split per route (mode, canary_percent, shadow_percent); applied by every gateway within a second.';

CREATE TABLE shadowgate.rollout_events (
    id               bigserial        PRIMARY KEY,
    route            text             NOT NULL,
    at               timestamptz      NOT NULL DEFAULT clock_timestamp(),
    actor            text             NOT NULL,   -- config | cli:USER | admin:ADDRESS | controller:HOST:PID
    action           text             NOT NULL,   -- seed | set | promote | rollback | advance | auto_rollback
    from_mode        text,
    from_percent     double precision,
    to_mode          text             NOT NULL,
    to_percent       double precision NOT NULL,
    reason           text             NOT NULL,
    learner_version  text,                        -- the learner's model version as its responses last reported it
    metrics          jsonb                        -- compare() over the window at that moment (+ gate results for the controller)
);

COMMENT ON TABLE shadowgate.rollout_events IS
    'Audit trail: one row per flag change, by a person or the promotion controller, with the metrics at that moment.';

CREATE INDEX rollout_events_route_at_idx ON shadowgate.rollout_events (route, at);

-- The controller's latest evaluation per route, read by `shadowgate rollout status`.
CREATE TABLE shadowgate.rollout_state (
    route            text             PRIMARY KEY,
    evaluated_at     timestamptz      NOT NULL,
    outcome          text             NOT NULL CHECK (outcome IN ('pass', 'fail', 'inconclusive')),
    decision         text             NOT NULL,   -- hold | advance | promote | rollback | blocked
    reason           text             NOT NULL,
    passing_since    timestamptz,                 -- start of the current run of passing evaluations
    rolled_back_at   timestamptz,                 -- last rollback; advancing waits for a window after it
    learner_version  text,
    gates            jsonb            NOT NULL,   -- [{gate, value, threshold, hard, result}]
    metrics          jsonb,
    controller       text             NOT NULL
);
