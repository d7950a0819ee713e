-- Scale-out: fenced leadership for the promotion controller and the label deliverer (see
-- functions/leadership.sql, which holds the functions and the fence triggers).
--
-- shadowgate.leader_epochs: one row per leader-elected role; epoch +1 on every acquisition.
-- The fence trigger on the tables a leader writes (flags through set_flags(), rollout_events,
-- rollout_state, label_delivery) refuses writes from a session holding a superseded epoch.
--
-- Citus readiness (checked, no change needed): every unique key of shadowgate.pairs
-- (request_id, received_at) and shadowgate.labels (request_id, row_index) contains request_id,
-- the distribution column; pair_stats has no unique key. See the README's "Beyond one PostgreSQL".

CREATE TABLE shadowgate.leader_epochs (
    role          text        PRIMARY KEY,
    epoch         bigint      NOT NULL,
    holder        text        NOT NULL,   -- controller:HOST:PID, deliverer:HOST:PID
    holder_pid    int         NOT NULL,   -- server backend of the leader's session
    acquired_at   timestamptz NOT NULL,
    confirmed_at  timestamptz NOT NULL    -- last heartbeat; a challenger ends a session silent for longer than its deadline
);

COMMENT ON TABLE shadowgate.leader_epochs IS
    'Fencing tokens: the current epoch of each leader-elected role; writes from an older epoch are refused.';
