-- Labels (shadowgate.labels): their place in the delivery order (labels_seq, txid; migration 0008).

-- A replaced label (a new value for the same request and row, by the writer's upsert or a plain
-- UPDATE) gets a new place in the delivery order so it is delivered again; writing the same value
-- again keeps the old place.
CREATE OR REPLACE FUNCTION shadowgate.labels_reorder_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.label IS DISTINCT FROM OLD.label THEN
        NEW.seq := nextval('shadowgate.labels_seq');
        NEW.txid := pg_current_xact_id();
    ELSE
        NEW.seq := OLD.seq;
        NEW.txid := OLD.txid;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS labels_reorder_changed ON shadowgate.labels;
CREATE TRIGGER labels_reorder_changed BEFORE UPDATE ON shadowgate.labels
    FOR EACH ROW EXECUTE FUNCTION shadowgate.labels_reorder_changed();
