-- Label delivery: what the deliverer reads and writes, and what people query about labels.
-- Tables are in 0008_label_delivery.sql. Every function here is CREATE OR REPLACE, so the file
-- can be applied again whenever it changes.

-- The features of one row of a batch request: KServe v1 rows ([[…], […]]) give row `row_index`;
-- OIP v2 inputs ([{"name", "shape": [n, …], "data": […]}], row-major) give each input's slice
-- with shape [1, …]; anything else (and a row out of range) gives the features whole.
CREATE OR REPLACE FUNCTION shadowgate._feature_input_row(input jsonb, row_index int) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(input -> 'shape') <> 'array' OR jsonb_typeof(input -> 'data') <> 'array'
             OR jsonb_typeof(input -> 'shape' -> 0) <> 'number' THEN NULL
        WHEN (input -> 'shape' ->> 0)::numeric <= row_index OR (input -> 'shape' ->> 0)::numeric < 1 THEN NULL
        WHEN jsonb_array_length(input -> 'data') % (input -> 'shape' ->> 0)::int <> 0 THEN NULL
        ELSE input || jsonb_build_object(
            'shape', jsonb_build_array(1) || ((input -> 'shape') - 0),
            'data', coalesce((
                SELECT jsonb_agg(v ORDER BY k)
                FROM jsonb_array_elements(input -> 'data') WITH ORDINALITY AS d(v, k),
                     LATERAL (SELECT jsonb_array_length(input -> 'data') / (input -> 'shape' ->> 0)::int AS width) w
                WHERE k > row_index * w.width AND k <= (row_index + 1) * w.width), '[]'::jsonb))
    END
$$;

-- The rows of a batch input (OIP v2 inputs, each sliced to its row), or the features whole.
-- Kept apart from feature_row() because its subquery keeps the planner from inlining a function:
-- feature_row() itself is one expression, inlined into the delivery queries (called out of line,
-- per label, it cost ~20 µs, a third of the delivery query).
CREATE OR REPLACE FUNCTION shadowgate._feature_inputs_row(features jsonb, row_index int) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bool_and(r IS NOT NULL) THEN jsonb_agg(r ORDER BY i) ELSE features END
    FROM jsonb_array_elements(features) WITH ORDINALITY AS t(e, i),
         LATERAL shadowgate._feature_input_row(e, row_index) AS r
$$;

-- The element-type tests are jsonpath (C) rather than NOT EXISTS over jsonb_array_elements():
-- the set-returning form cost ~20 µs per label, most of the delivery query.
CREATE OR REPLACE FUNCTION shadowgate.feature_row(features jsonb, row_index int) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN features IS NULL OR jsonb_typeof(features) <> 'array' OR jsonb_array_length(features) = 0 THEN features
        WHEN NOT jsonb_path_exists(features, 'strict $[*] ? (@.type() != "array")')
            THEN coalesce(features -> row_index, features)
        WHEN NOT jsonb_path_exists(features, 'strict $[*] ? (@.type() != "object")')
            THEN shadowgate._feature_inputs_row(features, row_index)
        ELSE features
    END
$$;

-- A stored label as JSON: a number when label_value is set, a boolean for true/false, else a string.
CREATE OR REPLACE FUNCTION shadowgate.label_json(label text, label_value double precision) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN label_value IS NOT NULL THEN to_jsonb(label_value)
                WHEN label IN ('true', 'false') THEN label::jsonb
                ELSE to_jsonb(label) END
$$;

-- The key a learner can de-duplicate on: the same label version always has the same key.
CREATE OR REPLACE FUNCTION shadowgate.label_idempotency_key(request_id text, row_index int, seq bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT request_id || '/' || row_index || '/' || seq
$$;

-- One item of a delivery, as the learner receives it (README, "What the learner receives").
--   shape 'items':          {"idempotency_key", "request_id", "index", "route", "features", "label",
--                            "label_received_at", "predicted_at"}
--   shape 'open-inference': an OIP v2 inference request: {"id": key, "inputs": the row's inputs
--                            (KServe rows become one FP64 input "features" of shape [1, n]) plus an
--                            input "label" of shape [1], "parameters": {request_id, index, route,
--                            idempotency_key, label_received_at, predicted_at}}
-- `row_features` is shadowgate.feature_row() of the pair's features. Each is one expression (no
-- CTE, no FROM) so the planner inlines it into the delivery query: called per label, a function
-- the planner cannot inline costs about 0.5 ms.
CREATE OR REPLACE FUNCTION shadowgate.label_item_json(
    request_id text, row_index int, seq bigint, label jsonb, label_received_at timestamptz,
    route text, row_features jsonb, predicted_at timestamptz
) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'idempotency_key', request_id || '/' || row_index || '/' || seq, 'request_id', request_id,
        'index', row_index, 'route', route, 'features', row_features, 'label', label,
        'label_received_at', label_received_at, 'predicted_at', predicted_at)
$$;

CREATE OR REPLACE FUNCTION shadowgate.label_item_oip(
    request_id text, row_index int, seq bigint, label jsonb, label_received_at timestamptz,
    route text, row_features jsonb, predicted_at timestamptz
) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'id', request_id || '/' || row_index || '/' || seq,
        'inputs', (CASE
            WHEN jsonb_typeof(row_features) = 'array' AND jsonb_array_length(row_features) > 0
                 AND NOT jsonb_path_exists(row_features, 'strict $[*] ? (@.type() != "object")')
                THEN row_features
            WHEN row_features IS NULL OR jsonb_typeof(row_features) = 'null' THEN '[]'::jsonb
            ELSE jsonb_build_array(jsonb_build_object(
                'name', 'features', 'datatype', 'FP64',
                'shape', jsonb_build_array(1, CASE WHEN jsonb_typeof(row_features) = 'array' THEN jsonb_array_length(row_features) ELSE 1 END),
                'data', CASE WHEN jsonb_typeof(row_features) = 'array' THEN row_features ELSE jsonb_build_array(row_features) END))
            END) || jsonb_build_array(jsonb_build_object(
                'name', 'label',
                'datatype', CASE jsonb_typeof(label) WHEN 'number' THEN 'FP64' WHEN 'boolean' THEN 'BOOL' ELSE 'BYTES' END,
                'shape', jsonb_build_array(1), 'data', jsonb_build_array(label))),
        'parameters', jsonb_build_object(
            'request_id', request_id, 'index', row_index, 'route', route,
            'idempotency_key', request_id || '/' || row_index || '/' || seq,
            'label_received_at', label_received_at, 'predicted_at', predicted_at))
$$;

-- A stored label as JSON text, the same value as label_json() without building jsonb: a float
-- through to_jsonb() goes via numeric and cost ~8 µs per label, to_json() about one.
CREATE OR REPLACE FUNCTION shadowgate.label_json_text(label text, label_value double precision) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$   -- STABLE like to_json(), so it is inlined
    SELECT CASE WHEN label_value IS NOT NULL THEN to_json(label_value)::text
                WHEN label IN ('true', 'false') THEN label
                ELSE to_json(label)::text END
$$;

-- The 'items' item as JSON text, concatenated rather than built as jsonb and printed: the same
-- object (keys in the documented order), at about a third of the cost per label. `label` is the
-- label's JSON text (label_json_text()).
DROP FUNCTION IF EXISTS shadowgate.label_item_text(text, int, bigint, jsonb, timestamptz, text, jsonb, timestamptz);
CREATE OR REPLACE FUNCTION shadowgate.label_item_text(
    request_id text, row_index int, seq bigint, label text, label_received_at timestamptz,
    route text, row_features jsonb, predicted_at timestamptz
) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$   -- STABLE like to_json(timestamptz), so it is inlined
    SELECT '{"idempotency_key":' || to_json(request_id || '/' || row_index || '/' || seq)::text
        || ',"request_id":' || to_json(request_id)::text
        || ',"index":' || row_index
        || ',"route":' || coalesce(to_json(route)::text, 'null')
        || ',"features":' || coalesce(row_features::text, 'null')
        || ',"label":' || coalesce(label, 'null')
        || ',"label_received_at":' || coalesce(to_json(label_received_at)::text, 'null')
        || ',"predicted_at":' || coalesce(to_json(predicted_at)::text, 'null') || '}'
$$;

-- One item in either shape.
CREATE OR REPLACE FUNCTION shadowgate.label_delivery_item(
    request_id text, row_index int, seq bigint, label text, label_value double precision,
    label_received_at timestamptz, route text, features jsonb, predicted_at timestamptz, shape text
) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN shape = 'open-inference'
        THEN shadowgate.label_item_oip(request_id, row_index, seq, shadowgate.label_json(label, label_value),
                                       label_received_at, route, shadowgate.feature_row(features, row_index), predicted_at)
        ELSE shadowgate.label_item_json(request_id, row_index, seq, shadowgate.label_json(label, label_value),
                                        label_received_at, route, shadowgate.feature_row(features, row_index), predicted_at)
    END
$$;

-- Delivery rows of the given label versions, in (txid, seq) order, each joined with the newest
-- pair of its request (same columns as label_delivery_batch). The pairs of all the labels are
-- read in one statement; the items are built by expressions the planner inlines.
CREATE OR REPLACE FUNCTION shadowgate.label_delivery_rows(labels shadowgate.labels[], shape text DEFAULT 'items')
RETURNS TABLE (
    seq bigint, txid xid8, request_id text, row_index int, route text, skip_reason text,
    age_seconds double precision, delay_seconds double precision, item text
)
LANGUAGE sql STABLE AS $$
    WITH l AS MATERIALIZED (SELECT * FROM unnest(labels)),
    p AS MATERIALIZED (
        SELECT DISTINCT ON (q.request_id) q.request_id, q.route, q.features, q.received_at, q.holdout
        FROM shadowgate.pairs q
        WHERE q.request_id = ANY (ARRAY(SELECT DISTINCT l.request_id FROM l ORDER BY 1))
        ORDER BY q.request_id, q.received_at DESC)
    SELECT l.seq, l.txid, l.request_id, l.row_index, p.route,
           CASE WHEN p.route IS NULL THEN 'no_prediction'
                WHEN p.holdout THEN 'holdout'
           END,
           extract(epoch FROM now() - l.received_at)::float8,
           extract(epoch FROM l.received_at - p.received_at)::float8,
           CASE WHEN p.route IS NULL OR p.holdout THEN NULL
                WHEN shape = 'open-inference' THEN shadowgate.label_delivery_item(
                    l.request_id, l.row_index, l.seq, l.label, l.label_value, l.received_at,
                    p.route, p.features, p.received_at, shape)::text
                ELSE shadowgate.label_item_text(
                    l.request_id, l.row_index, l.seq, shadowgate.label_json_text(l.label, l.label_value), l.received_at,
                    p.route, shadowgate.feature_row(p.features, l.row_index), p.received_at) END
    FROM l LEFT JOIN p ON p.request_id = l.request_id
    ORDER BY l.txid, l.seq
$$;

-- The next labels to deliver after the cursor, in (txid, seq) order, each joined with its
-- newest pair. Only labels of transactions older than every transaction still running are
-- read, so no label can commit behind the cursor later. skip_reason says why a row is not
-- delivered: 'no_prediction' (its pair is not in shadowgate.pairs yet: it goes to label_waiting).
-- Labels of the legacy holdout (pairs.holdout) are never delivered: skip_reason 'holdout'.
-- Set-based per batch: the labels are read first, then their pairs in one index scan per
-- partition for all the batch's request ids (= ANY), rather than a lateral probe of every
-- partition per label. One statement with no volatile call, so the planner inlines it into the
-- caller's query (a function scan would cost a tuplestore round per row). The row expressions
-- are label_delivery_rows()'s.
CREATE OR REPLACE FUNCTION shadowgate.label_delivery_batch(
    after_txid xid8, after_seq bigint, max_rows int, shape text DEFAULT 'items'
) RETURNS TABLE (
    seq bigint, txid xid8, request_id text, row_index int, route text, skip_reason text,
    age_seconds double precision, delay_seconds double precision, item text
)
LANGUAGE sql STABLE AS $$
    WITH l AS MATERIALIZED (
        SELECT l.* FROM shadowgate.labels l
        WHERE (l.txid, l.seq) > (after_txid, after_seq)
          AND l.txid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY l.txid, l.seq
        LIMIT max_rows),
    p AS MATERIALIZED (
        SELECT DISTINCT ON (q.request_id) q.request_id, q.route, q.features, q.received_at, q.holdout
        FROM shadowgate.pairs q
        WHERE q.request_id = ANY (ARRAY(SELECT DISTINCT l.request_id FROM l ORDER BY 1))
        ORDER BY q.request_id, q.received_at DESC)
    SELECT l.seq, l.txid, l.request_id, l.row_index, p.route,
           CASE WHEN p.route IS NULL THEN 'no_prediction'
                WHEN p.holdout THEN 'holdout'
           END,
           extract(epoch FROM now() - l.received_at)::float8,
           extract(epoch FROM l.received_at - p.received_at)::float8,
           CASE WHEN p.route IS NULL OR p.holdout THEN NULL
                WHEN shape = 'open-inference' THEN shadowgate.label_delivery_item(
                    l.request_id, l.row_index, l.seq, l.label, l.label_value, l.received_at,
                    p.route, p.features, p.received_at, shape)::text
                ELSE shadowgate.label_item_text(
                    l.request_id, l.row_index, l.seq, shadowgate.label_json_text(l.label, l.label_value), l.received_at,
                    p.route, shadowgate.feature_row(p.features, l.row_index), p.received_at) END
    FROM l LEFT JOIN p ON p.request_id = l.request_id
    ORDER BY l.txid, l.seq
$$;

-- Waiting labels whose pair has landed since, in arrival order (same columns as
-- label_delivery_batch). Only the waiting version of each label: a newer version is read by
-- label_delivery_batch in its turn.
CREATE OR REPLACE FUNCTION shadowgate.label_waiting_ready(max_rows int, shape text DEFAULT 'items')
RETURNS TABLE (
    seq bigint, txid xid8, request_id text, row_index int, route text, skip_reason text,
    age_seconds double precision, delay_seconds double precision, item text
)
LANGUAGE sql STABLE AS $$
    SELECT r.* FROM shadowgate.label_delivery_rows(ARRAY(
        SELECT l FROM shadowgate.label_waiting w
        JOIN shadowgate.labels l ON l.request_id = w.request_id AND l.row_index = w.row_index AND l.seq = w.seq
        WHERE w.gave_up_at IS NULL
          AND EXISTS (SELECT 1 FROM shadowgate.pairs q WHERE q.request_id = w.request_id)
        ORDER BY w.seq
        LIMIT max_rows), shape) r
    ORDER BY r.seq
$$;

-- A route's parked labels (label_delivery_parked) in delivery order, at most max_rows, as
-- delivery rows (same columns as label_delivery_batch). A parked version that is no longer in
-- shadowgate.labels (replaced by a newer one, which is read in its own turn, or deleted by
-- retention) comes back with skip_reason 'replaced' and no item, so it is settled and unparked.
CREATE OR REPLACE FUNCTION shadowgate.label_parked_batch(route text, max_rows int, shape text DEFAULT 'items')
RETURNS TABLE (
    seq bigint, txid xid8, request_id text, row_index int, route text, skip_reason text,
    age_seconds double precision, delay_seconds double precision, item text
)
LANGUAGE sql STABLE AS $$
    WITH k AS MATERIALIZED (
        SELECT k.seq, k.txid, k.request_id, k.row_index, k.route FROM shadowgate.label_delivery_parked k
        WHERE k.route = label_parked_batch.route
        ORDER BY k.txid, k.seq
        LIMIT max_rows),
    rows AS (
        SELECT r.* FROM shadowgate.label_delivery_rows(ARRAY(
            SELECT l FROM k JOIN shadowgate.labels l ON l.request_id = k.request_id AND l.row_index = k.row_index AND l.seq = k.seq),
            shape) r
        UNION ALL
        SELECT k.seq, k.txid, k.request_id, k.row_index, k.route, 'replaced', 0::float8, NULL::float8, NULL::text FROM k
        WHERE NOT EXISTS (SELECT 1 FROM shadowgate.labels l
                          WHERE l.request_id = k.request_id AND l.row_index = k.row_index AND l.seq = k.seq))
    SELECT * FROM rows ORDER BY rows.txid, rows.seq
$$;

-- Records one delivery step in one statement (so in one transaction): the cursor moves to
-- (cursor_txid, cursor_seq); labels found without a prediction start (or restart) waiting;
-- delivered labels stop waiting; labels of a failing route are parked and settled ones
-- unparked; totals and per-route counts grow. Returns the new delivered total. The UPDATE of
-- label_delivery is fenced (label_delivery_fence): a deposed leader's step is refused whole.
DROP FUNCTION IF EXISTS shadowgate.label_delivery_advance(
    xid8, bigint, text[], int[], bigint[], text[], int[], bigint[], text[], bigint[], bigint[], bigint[], bigint, text);
CREATE OR REPLACE FUNCTION shadowgate.label_delivery_advance(
    cursor_txid xid8, cursor_seq bigint,
    waiting_ids text[], waiting_rows int[], waiting_seqs bigint[],
    done_ids text[], done_rows int[], done_seqs bigint[],
    routes text[], route_delivered bigint[], route_retried bigint[], route_last_seq bigint[],
    skipped bigint, deliverer text,
    parked_routes text[] DEFAULT '{}', parked_txids xid8[] DEFAULT '{}', parked_ids text[] DEFAULT '{}',
    parked_rows int[] DEFAULT '{}', parked_seqs bigint[] DEFAULT '{}', unparked_seqs bigint[] DEFAULT '{}'
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    IF cardinality(unparked_seqs) > 0 THEN
        DELETE FROM shadowgate.label_delivery_parked WHERE seq = ANY (unparked_seqs);
    END IF;
    IF cardinality(parked_seqs) > 0 THEN
        INSERT INTO shadowgate.label_delivery_parked (route, txid, request_id, row_index, seq)
        SELECT * FROM unnest(parked_routes, parked_txids, parked_ids, parked_rows, parked_seqs)
        ON CONFLICT (seq) DO NOTHING;
    END IF;
    INSERT INTO shadowgate.label_waiting AS w (request_id, row_index, seq)
    SELECT * FROM unnest(waiting_ids, waiting_rows, waiting_seqs)
    ON CONFLICT (request_id, row_index) DO UPDATE
        SET seq = EXCLUDED.seq, since = now(), gave_up_at = NULL
        WHERE w.seq < EXCLUDED.seq;
    -- Usually nothing waits: then the delivered keys need no lookup each.
    IF EXISTS (SELECT 1 FROM shadowgate.label_waiting) THEN
        DELETE FROM shadowgate.label_waiting w
        USING unnest(done_ids, done_rows, done_seqs) AS d(request_id, row_index, seq)
        WHERE w.request_id = d.request_id AND w.row_index = d.row_index AND w.seq <= d.seq;
    END IF;
    INSERT INTO shadowgate.label_delivery_routes AS r (route, delivered, retried, last_delivered_at, last_seq)
    SELECT u.route, u.delivered, u.retried, CASE WHEN u.delivered > 0 THEN now() END, u.last_seq
    FROM unnest(routes, route_delivered, route_retried, route_last_seq) AS u(route, delivered, retried, last_seq)
    ON CONFLICT (route) DO UPDATE SET
        delivered = r.delivered + EXCLUDED.delivered, retried = r.retried + EXCLUDED.retried,
        last_delivered_at = coalesce(EXCLUDED.last_delivered_at, r.last_delivered_at),
        last_seq = greatest(r.last_seq, EXCLUDED.last_seq);
    UPDATE shadowgate.label_delivery d SET
        cursor_txid = CASE WHEN (label_delivery_advance.cursor_txid, label_delivery_advance.cursor_seq) > (d.cursor_txid, d.cursor_seq)
                           THEN label_delivery_advance.cursor_txid ELSE d.cursor_txid END,
        cursor_seq  = CASE WHEN (label_delivery_advance.cursor_txid, label_delivery_advance.cursor_seq) > (d.cursor_txid, d.cursor_seq)
                           THEN label_delivery_advance.cursor_seq ELSE d.cursor_seq END,
        delivered = d.delivered + coalesce((SELECT sum(x) FROM unnest(route_delivered) x), 0),
        retried = d.retried + coalesce((SELECT sum(x) FROM unnest(route_retried) x), 0),
        skipped = d.skipped + label_delivery_advance.skipped,
        deliverer = label_delivery_advance.deliverer,
        updated_at = now()
    RETURNING d.delivered INTO total;
    RETURN total;
END
$$;

-- Marks the labels that have waited longer than wait_for_prediction as given up (they show in
-- labels_unmatched and are no longer joined); returns how many it marked.
CREATE OR REPLACE FUNCTION shadowgate.label_give_up() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    UPDATE shadowgate.label_waiting SET gave_up_at = now()
    WHERE gave_up_at IS NULL AND since < now() - (SELECT wait_for_prediction FROM shadowgate.label_delivery);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE shadowgate.label_delivery SET gave_up = gave_up + n;
    END IF;
    RETURN n;
END
$$;

-- Retention for labels, with the same cutoff as shadowgate.drop_partitions_older_than: labels
-- received before the start of the UTC day `days` days ago go, and their waiting rows with them.
-- Returns how many labels it deleted.
CREATE OR REPLACE FUNCTION shadowgate.drop_labels_older_than(days int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := ((now() AT TIME ZONE 'UTC')::date - days)::timestamp AT TIME ZONE 'UTC';
    n bigint;
BEGIN
    DELETE FROM shadowgate.labels WHERE received_at < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM shadowgate.label_waiting w
    WHERE NOT EXISTS (SELECT 1 FROM shadowgate.labels l WHERE l.request_id = w.request_id AND l.row_index = w.row_index);
    -- Parked versions whose label went are settled by the deliverer ('replaced'); none stays.
    RETURN n;
END
$$;

-- Labels that never found their prediction within wait_for_prediction.
CREATE OR REPLACE VIEW shadowgate.labels_unmatched AS
SELECT l.request_id, l.row_index, l.label, l.received_at, w.since AS waiting_since, w.gave_up_at
FROM shadowgate.label_waiting w
JOIN shadowgate.labels l ON l.request_id = w.request_id AND l.row_index = w.row_index
WHERE w.gave_up_at IS NOT NULL;

-- One row: how far delivery is. pending: labels written but not yet read by the deliverer;
-- waiting: read, prediction not found yet; unmatched: given up; lag_seconds: age of the oldest
-- pending label (0 when none); parked: labels set aside for a route whose learner kept failing.
CREATE OR REPLACE VIEW shadowgate.label_delivery_status AS
SELECT (SELECT count(*) FROM shadowgate.labels) AS received,
       (SELECT count(*) FROM shadowgate.labels l WHERE (l.txid, l.seq) > (d.cursor_txid, d.cursor_seq)) AS pending,
       (SELECT count(*) FROM shadowgate.label_waiting WHERE gave_up_at IS NULL) AS waiting,
       (SELECT count(*) FROM shadowgate.label_waiting WHERE gave_up_at IS NOT NULL) AS unmatched,
       d.delivered, d.retried, d.skipped, d.gave_up,
       coalesce(extract(epoch FROM now() - (
           SELECT min(l.received_at) FROM shadowgate.labels l
           WHERE (l.txid, l.seq) > (d.cursor_txid, d.cursor_seq)))::float8, 0) AS lag_seconds,
       d.wait_for_prediction, d.cursor_txid, d.cursor_seq, d.deliverer, d.updated_at,
       (SELECT count(*) FROM shadowgate.label_delivery_parked) AS parked
FROM shadowgate.label_delivery d;

-- Label coverage of a route's pairs in the last `since`: pairs, pairs with at least one label,
-- their share, and the label delay (first label received − prediction received) in seconds.
CREATE OR REPLACE FUNCTION shadowgate.label_coverage(route text, since interval)
RETURNS TABLE (pairs bigint, labelled bigint, coverage double precision,
               delay_p50_s double precision, delay_p90_s double precision, delay_p99_s double precision,
               delay_max_s double precision)
LANGUAGE sql STABLE AS $$
    SELECT count(*), count(x.delay), count(x.delay)::float8 / nullif(count(*), 0),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY x.delay),
           percentile_cont(0.9) WITHIN GROUP (ORDER BY x.delay),
           percentile_cont(0.99) WITHIN GROUP (ORDER BY x.delay),
           max(x.delay)
    FROM (SELECT (SELECT extract(epoch FROM min(l.received_at) - p.received_at)::float8
                  FROM shadowgate.labels l WHERE l.request_id = p.request_id) AS delay
          FROM shadowgate.pair_stats p
          WHERE p.route = label_coverage.route AND p.received_at >= now() - since) x
$$;

-- The label delay of a route's labelled pairs in the last `since` as a histogram: labels per
-- bucket (le_seconds is the bucket's upper bound, 'Infinity' for the last), not cumulative.
CREATE OR REPLACE FUNCTION shadowgate.label_delay_histogram(route text, since interval)
RETURNS TABLE (le_seconds double precision, labels bigint)
LANGUAGE sql STABLE AS $$
    WITH bounds(le) AS (
        SELECT unnest(ARRAY[0.1, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400, 'Infinity']::float8[])),
    delays AS (
        SELECT extract(epoch FROM l.received_at - p.received_at)::float8 AS d
        FROM shadowgate.pair_stats p
        JOIN shadowgate.labels l ON l.request_id = p.request_id
        WHERE p.route = label_delay_histogram.route AND p.received_at >= now() - since)
    SELECT b.le, count(x.d)
    FROM bounds b
    LEFT JOIN LATERAL (
        SELECT d FROM delays
        WHERE d <= b.le AND d > coalesce((SELECT max(le) FROM bounds WHERE le < b.le), '-Infinity')) x ON true
    GROUP BY b.le ORDER BY b.le
$$;
