-- Partition upkeep of the day-partitioned tables: shadowgate.pairs, shadowgate.pair_stats and
-- shadowgate.pair_value_counts, one partition `<table>_pYYYYMMDD` per UTC day plus `<table>_default`.
-- Both public functions take a transaction-level advisory lock, so several gateway replicas may
-- call them at the same time. The pair writer calls them on every (re)connect and then hourly.
-- Applying this file also creates the partitions (see the end).

-- Day partition `<table>_pYYYYMMDD` of shadowgate.<table> for day d, unless it exists; rows
-- already in <table>_default for that day are moved into it. True when it was created.
CREATE OR REPLACE FUNCTION shadowgate._ensure_day_partition(tbl text, d date) RETURNS boolean
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

-- Creates the daily partitions of pairs, pair_stats and pair_value_counts from `days_back` days
-- ago to `days_ahead` days ahead (UTC) that do not exist yet; returns how many pairs partitions
-- it created.
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
        PERFORM shadowgate._ensure_day_partition('pair_value_counts', d);
    END LOOP;
    RETURN created;
END
$$;

-- Drops the daily partitions of pairs, pair_stats and pair_value_counts whose whole day is more
-- than `days` days before today (UTC) and deletes rows that old from the default partitions.
-- Returns how many pairs partitions it dropped.
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
    FOREACH tbl IN ARRAY ARRAY['pairs', 'pair_stats', 'pair_value_counts'] LOOP
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

-- Every time this file is applied (a new database, or upkeep that now covers another table):
-- the partitions from yesterday to 3 days ahead, and a partition of each table for every day
-- pairs has one, so a table added to the upkeep is partitioned like pairs from the start. Rows
-- already in a default partition for such a day are moved into it.
SELECT shadowgate.ensure_partitions(3);

DO $$
DECLARE
    part text;
    tbl  text;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'shadowgate.pairs'::regclass AND c.relname ~ '^pairs_p[0-9]{8}$'
    LOOP
        FOREACH tbl IN ARRAY ARRAY['pair_stats', 'pair_value_counts'] LOOP
            PERFORM shadowgate._ensure_day_partition(tbl, to_date(right(part, 8), 'YYYYMMDD'));
        END LOOP;
    END LOOP;
END
$$;
