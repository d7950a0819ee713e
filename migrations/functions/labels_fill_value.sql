-- Labels (shadowgate.labels, ground truth arriving as feedback): the numeric value of a label.

-- A number when `s` is a plain decimal/scientific number, else NULL (no exception).
-- Plain digit strings (class labels such as 0/1, the common case) are recognised without the
-- regular expression, which costs a few microseconds per label on the write path.
CREATE OR REPLACE FUNCTION shadowgate.parse_float(s text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s <> '' AND length(s) <= 15 AND translate(s, '0123456789', '') = ''
                THEN s::double precision
                WHEN btrim(s) ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$'
                THEN btrim(s)::double precision END
$$;

-- Fills label_value from label when the writer did not (so COPY writers need not parse).
CREATE OR REPLACE FUNCTION shadowgate.labels_fill_value() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.label_value IS NULL THEN
        NEW.label_value := shadowgate.parse_float(NEW.label);
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS labels_fill_value ON shadowgate.labels;
-- WHEN keeps the trigger off the bulk paths: the gateway's writer and `labels import` set
-- label_value themselves, and a row-level PL/pgSQL call costs about as much as the insert.
CREATE TRIGGER labels_fill_value BEFORE INSERT OR UPDATE ON shadowgate.labels
    FOR EACH ROW WHEN (NEW.label_value IS NULL) EXECUTE FUNCTION shadowgate.labels_fill_value();
