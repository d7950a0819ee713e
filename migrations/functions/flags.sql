-- Feature flags (shadowgate.flags) and the rollout trail: the notification gateways listen to,
-- and the only ways flags are seeded and changed.

-- Every flag change wakes the gateways' flag watchers.
CREATE OR REPLACE FUNCTION shadowgate.flags_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('shadowgate_flags', NEW.route);
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS flags_notify ON shadowgate.flags;
CREATE TRIGGER flags_notify AFTER INSERT OR UPDATE ON shadowgate.flags
    FOR EACH ROW EXECUTE FUNCTION shadowgate.flags_notify();

-- The learner's model version as its most recent response in the window reported it.
CREATE OR REPLACE FUNCTION shadowgate.learner_version(p_route text, p_since interval DEFAULT '1 hour')
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT learner_version FROM shadowgate.pairs
    WHERE route = p_route AND received_at >= now() - p_since AND learner_version IS NOT NULL
    ORDER BY received_at DESC LIMIT 1
$$;

-- Seeds a route's flags from the config file; does nothing when the route already has a row.
-- Returns true when it seeded.
CREATE OR REPLACE FUNCTION shadowgate.seed_flags(p_route text, p_mode text, p_canary_percent double precision,
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
CREATE OR REPLACE FUNCTION shadowgate.set_flags(p_route text, p_mode text, p_canary_percent double precision,
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
