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

-- Every flag change wakes the gateways' flag watchers.
CREATE FUNCTION shadowgate.flags_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('shadowgate_flags', NEW.route);
    RETURN NEW;
END
$$;

CREATE TRIGGER flags_notify AFTER INSERT OR UPDATE ON shadowgate.flags
    FOR EACH ROW EXECUTE FUNCTION shadowgate.flags_notify();

-- The learner's model version as its most recent response in the window reported it.
CREATE FUNCTION shadowgate.learner_version(p_route text, p_since interval DEFAULT '1 hour')
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT learner_version FROM shadowgate.pairs
    WHERE route = p_route AND received_at >= now() - p_since AND learner_version IS NOT NULL
    ORDER BY received_at DESC LIMIT 1
$$;

-- Seeds a route's flags from the config file; does nothing when the route already has a row.
-- Returns true when it seeded.
CREATE FUNCTION shadowgate.seed_flags(p_route text, p_mode text, p_canary_percent double precision,
                                      p_shadow_percent double precision)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO shadowgate.flags (route, mode, canary_percent, shadow_percent, updated_by, reason)
    VALUES (p_route, p_mode, p_canary_percent, p_shadow_percent, 'config', 'initial state from the config file')
    ON CONFLICT (route) DO NOTHING;
    IF NOT FOUND THEN RETURN false; END IF;
    INSERT INTO shadowgate.rollout_events (route, actor, action, to_mode, to_percent, reason)
    VALUES (p_route, 'config', 'seed', p_mode, p_canary_percent, 'initial state from the config file');
    RETURN true;
END
$$;

-- Changes a route's flags and records the change, atomically.
--   p_expected_revision: when given, the change is refused (SQLSTATE 40001) if the row moved on
--     since the caller read it, so the controller never overwrites a person's change unseen.
--   p_metrics: the metrics to record; NULL records compare() over the last p_window.
-- Raises SQLSTATE P0002 for a route without flags and 22023 for a bad mode or percent.
CREATE FUNCTION shadowgate.set_flags(p_route text, p_mode text, p_canary_percent double precision,
                                     p_actor text, p_action text, p_reason text,
                                     p_window interval DEFAULT '1 hour',
                                     p_metrics jsonb DEFAULT NULL,
                                     p_learner_version text DEFAULT NULL,
                                     p_expected_revision bigint DEFAULT NULL)
RETURNS shadowgate.flags LANGUAGE plpgsql AS $$
DECLARE
    old shadowgate.flags;
    new shadowgate.flags;
BEGIN
    IF p_mode IS NULL OR p_mode NOT IN ('legacy', 'shadow', 'canary', 'promoted') THEN
        RAISE EXCEPTION 'mode must be legacy, shadow, canary or promoted, got %', coalesce(p_mode, 'nothing')
            USING ERRCODE = '22023';
    END IF;
    IF p_canary_percent IS NULL OR p_canary_percent < 0 OR p_canary_percent > 100 OR p_canary_percent <> p_canary_percent THEN
        RAISE EXCEPTION 'canary_percent must be between 0 and 100, got %', p_canary_percent
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO old FROM shadowgate.flags WHERE route = p_route FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'route % has no flags (no gateway with this route has started on this database)', p_route
            USING ERRCODE = 'P0002';
    END IF;
    IF p_expected_revision IS NOT NULL AND old.revision <> p_expected_revision THEN
        RAISE EXCEPTION 'flags of route % changed meanwhile (revision % is now %)', p_route, p_expected_revision, old.revision
            USING ERRCODE = '40001';
    END IF;
    UPDATE shadowgate.flags
    SET mode = p_mode, canary_percent = p_canary_percent, revision = revision + 1,
        updated_at = clock_timestamp(), updated_by = p_actor, reason = coalesce(p_reason, '')
    WHERE route = p_route
    RETURNING * INTO new;
    INSERT INTO shadowgate.rollout_events (route, actor, action, from_mode, from_percent, to_mode, to_percent,
                                           reason, learner_version, metrics)
    VALUES (p_route, p_actor, p_action, old.mode, old.canary_percent, p_mode, p_canary_percent,
            coalesce(p_reason, ''),
            coalesce(p_learner_version, shadowgate.learner_version(p_route, p_window)),
            coalesce(p_metrics, (SELECT to_jsonb(c) FROM shadowgate.compare(p_route, p_window) c)));
    RETURN new;
END
$$;
