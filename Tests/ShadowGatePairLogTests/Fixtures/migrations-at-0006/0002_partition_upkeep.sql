-- Partition upkeep for shadowgate.pairs. Both functions take a transaction-level advisory lock,
-- so several gateway replicas may call them at the same time.

-- Creates the daily partitions from `days_back` days ago to `days_ahead` days ahead (UTC) that
-- do not exist yet and returns how many it created. Rows already sitting in pairs_default for a
-- new day are moved into that day's partition.
CREATE FUNCTION shadowgate.ensure_partitions(days_ahead int, days_back int DEFAULT 1)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    today   date := (now() AT TIME ZONE 'UTC')::date;
    d       date;
    lo      timestamptz;
    hi      timestamptz;
    part    text;
    created int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shadowgate.pairs.partitions'));
    FOR d IN SELECT generate_series(today - days_back, today + days_ahead, interval '1 day')::date LOOP
        part := 'pairs_p' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(format('shadowgate.%I', part)) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        IF EXISTS (SELECT 1 FROM shadowgate.pairs_default WHERE received_at >= lo AND received_at < hi) THEN
            EXECUTE format('CREATE TABLE shadowgate.%I (LIKE shadowgate.pairs INCLUDING DEFAULTS)', part);
            EXECUTE format('WITH moved AS (DELETE FROM shadowgate.pairs_default
                                           WHERE received_at >= $1 AND received_at < $2 RETURNING *)
                            INSERT INTO shadowgate.%I SELECT * FROM moved', part) USING lo, hi;
            EXECUTE format('ALTER TABLE shadowgate.pairs ATTACH PARTITION shadowgate.%I FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        ELSE
            EXECUTE format('CREATE TABLE shadowgate.%I PARTITION OF shadowgate.pairs FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        END IF;
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

-- Drops the daily partitions whose whole day is more than `days` days before today (UTC), and
-- deletes rows that old from pairs_default. Returns how many partitions it dropped.
CREATE FUNCTION shadowgate.drop_partitions_older_than(days int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    cutoff  date := (now() AT TIME ZONE 'UTC')::date - days;
    part    text;
    dropped int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shadowgate.pairs.partitions'));
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'shadowgate.pairs'::regclass AND c.relname ~ '^pairs_p[0-9]{8}$'
          AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE shadowgate.%I', part);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM shadowgate.pairs_default WHERE received_at < (cutoff::timestamp AT TIME ZONE 'UTC');
    RETURN dropped;
END
$$;

SELECT shadowgate.ensure_partitions(3);
