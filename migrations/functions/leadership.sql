-- Fenced leadership: the promotion controller (role 'promotion') and the label deliverer (role
-- 'labels'); any leader-elected role can use it.
--
-- A leader holds a session advisory lock AND the current epoch of its role in
-- shadowgate.leader_epochs. Every acquisition bumps the epoch and stores it in the session
-- (setting shadowgate.leader_epoch = 'role:epoch'); the fence trigger refuses a write from a
-- session whose epoch is no longer the role's current one (SQLSTATE SGFEN), so a stale leader's
-- decision never lands. The leader confirms every second; a challenger that finds the lock taken
-- by a holder that has not confirmed for p_stale ends the holder's session (its lock goes with
-- it), because PostgreSQL keeps a silent session — and its advisory lock — until TCP notices.

-- Tries to become the leader of p_role. Returns the new epoch, or NULL when another session
-- leads (after ending that session if it stopped confirming more than p_stale ago).
CREATE OR REPLACE FUNCTION shadowgate.acquire_leadership(p_role text, p_lock_class int, p_lock_object int,
                                                        p_holder text, p_stale interval DEFAULT '5 seconds')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_epoch bigint;
    v_row shadowgate.leader_epochs;
    v_pid int;
BEGIN
    -- Already ours in this session (a retry after an error that left the lock): do not stack it.
    IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                   AND classid = p_lock_class::oid AND objid = p_lock_object::oid AND objsubid = 2)
       AND NOT pg_try_advisory_lock(p_lock_class, p_lock_object) THEN
        SELECT * INTO v_row FROM shadowgate.leader_epochs WHERE role = p_role;
        IF FOUND AND v_row.confirmed_at < clock_timestamp() - p_stale THEN
            -- Advisory locks belong to a database: never end a session of another database's leader.
            SELECT l.pid INTO v_pid FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = p_lock_class::oid
              AND l.objid = p_lock_object::oid AND l.objsubid = 2
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
            IF v_pid IS NOT NULL THEN
                RAISE LOG 'shadowgate: ending the session of silent leader % (pid %, last confirmed %)',
                    v_row.holder, v_pid, v_row.confirmed_at;
                PERFORM pg_terminate_backend(v_pid);
            END IF;
        END IF;
        RETURN NULL;
    END IF;
    INSERT INTO shadowgate.leader_epochs AS e (role, epoch, holder, holder_pid, acquired_at, confirmed_at)
    VALUES (p_role, 1, p_holder, pg_backend_pid(), clock_timestamp(), clock_timestamp())
    ON CONFLICT (role) DO UPDATE SET epoch = e.epoch + 1, holder = EXCLUDED.holder, holder_pid = EXCLUDED.holder_pid,
        acquired_at = EXCLUDED.acquired_at, confirmed_at = EXCLUDED.confirmed_at
    RETURNING epoch INTO v_epoch;
    PERFORM set_config('shadowgate.leader_epoch', p_role || ':' || v_epoch, false);
    RETURN v_epoch;
END
$$;

-- The leader's heartbeat: true while p_epoch is still the role's epoch and this session holds it.
CREATE OR REPLACE FUNCTION shadowgate.confirm_leadership(p_role text, p_epoch bigint)
RETURNS boolean LANGUAGE sql AS $$
    WITH confirmed AS (
        UPDATE shadowgate.leader_epochs SET confirmed_at = clock_timestamp()
        WHERE role = p_role AND epoch = p_epoch AND holder_pid = pg_backend_pid()
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM confirmed)
$$;

-- Fence: a session that became leader (shadowgate.leader_epoch set) may write only while its
-- epoch is current. Sessions that never led (people, the admin API) are not fenced.
CREATE OR REPLACE FUNCTION shadowgate.fence_leader_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_setting text := current_setting('shadowgate.leader_epoch', true);
    v_current bigint;
BEGIN
    IF v_setting IS NULL OR v_setting = '' THEN
        RETURN NEW;
    END IF;
    -- FOR SHARE: waits for an acquisition in flight, then sees its epoch.
    SELECT epoch INTO v_current FROM shadowgate.leader_epochs
    WHERE role = split_part(v_setting, ':', 1) FOR SHARE;
    IF v_current IS DISTINCT FROM split_part(v_setting, ':', 2)::bigint THEN
        RAISE EXCEPTION 'stale leader: % is no longer the current epoch (now %); write refused', v_setting, v_current
            USING ERRCODE = 'SGFEN';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS flags_fence ON shadowgate.flags;
CREATE TRIGGER flags_fence BEFORE INSERT OR UPDATE ON shadowgate.flags
    FOR EACH ROW EXECUTE FUNCTION shadowgate.fence_leader_write();
DROP TRIGGER IF EXISTS rollout_events_fence ON shadowgate.rollout_events;
CREATE TRIGGER rollout_events_fence BEFORE INSERT ON shadowgate.rollout_events
    FOR EACH ROW EXECUTE FUNCTION shadowgate.fence_leader_write();
DROP TRIGGER IF EXISTS rollout_state_fence ON shadowgate.rollout_state;
CREATE TRIGGER rollout_state_fence BEFORE INSERT OR UPDATE ON shadowgate.rollout_state
    FOR EACH ROW EXECUTE FUNCTION shadowgate.fence_leader_write();
DROP TRIGGER IF EXISTS label_delivery_fence ON shadowgate.label_delivery;
CREATE TRIGGER label_delivery_fence BEFORE INSERT OR UPDATE ON shadowgate.label_delivery
    FOR EACH ROW EXECUTE FUNCTION shadowgate.fence_leader_write();
