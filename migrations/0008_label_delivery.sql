-- Labels accepted at once and delivered to the learners from the durable log (issue 13).
--
-- * shadowgate.labels.route may be NULL: the gateway no longer looks the prediction up when a
--   label arrives, so the label's route is known only once it is joined with its pair.
-- * Every label version gets a place in the delivery order: `seq` (a sequence) and `txid` (the
--   transaction that wrote it). Defaults fill both for every writer — the gateway's COPY, the
--   spool replay, `shadowgate labels import`, a hand-written INSERT or COPY — and a trigger gives
--   a replaced label (another value for the same request and row) a new place, so it is
--   delivered again; the same value written again keeps its place and is not re-sent.
-- * The deliverer scans labels in (txid, seq) order behind a persistent cursor and only up to
--   the oldest transaction still running (pg_snapshot_xmin): a label written by a transaction
--   that commits late can never fall behind the cursor. The cursor lives in label_delivery.
-- * Labels whose prediction is not in shadowgate.pairs yet wait in label_waiting and are joined
--   again until feedback.wait_for_prediction has passed; then they are marked gave_up_at and
--   show in the view labels_unmatched.
-- The functions and views over these tables are in migrations/functions/labels.sql (repeated at
-- the end of this file until the migration runner applies that folder).

CREATE SEQUENCE shadowgate.labels_seq AS bigint;

ALTER TABLE shadowgate.labels ALTER COLUMN route DROP NOT NULL;
ALTER TABLE shadowgate.labels
    ADD COLUMN seq  bigint NOT NULL DEFAULT nextval('shadowgate.labels_seq'),
    ADD COLUMN txid xid8   NOT NULL DEFAULT pg_current_xact_id();
ALTER SEQUENCE shadowgate.labels_seq OWNED BY shadowgate.labels.seq;

CREATE INDEX labels_delivery_order_idx ON shadowgate.labels (txid, seq);

COMMENT ON COLUMN shadowgate.labels.seq IS
    'Arrival order of this label version (a new value for the same request and row gets a new seq).';
COMMENT ON COLUMN shadowgate.labels.txid IS
    'Transaction that wrote this label version; the deliverer reads labels in (txid, seq) order.';

-- One row: where the deliverer is, what it was told, and running totals.
CREATE TABLE shadowgate.label_delivery (
    singleton            boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    cursor_txid          xid8        NOT NULL,
    cursor_seq           bigint      NOT NULL,
    wait_for_prediction  interval    NOT NULL DEFAULT '1 hour',
    delivered            bigint      NOT NULL DEFAULT 0,
    retried              bigint      NOT NULL DEFAULT 0,
    skipped              bigint      NOT NULL DEFAULT 0,
    gave_up              bigint      NOT NULL DEFAULT 0,
    deliverer            text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE shadowgate.label_delivery IS
    'The label deliverer''s persistent cursor (cursor_txid, cursor_seq), its wait_for_prediction and running totals.';

-- Labels already stored were forwarded by the old per-label path: start behind them.
INSERT INTO shadowgate.label_delivery (cursor_txid, cursor_seq)
SELECT pg_current_xact_id(), coalesce((SELECT max(seq) FROM shadowgate.labels), 0);

-- Per route: what reached the learner.
CREATE TABLE shadowgate.label_delivery_routes (
    route              text        PRIMARY KEY,
    delivered          bigint      NOT NULL DEFAULT 0,
    retried            bigint      NOT NULL DEFAULT 0,
    last_delivered_at  timestamptz,
    last_seq           bigint
);

-- Labels scanned while their prediction was not in shadowgate.pairs yet.
CREATE TABLE shadowgate.label_waiting (
    request_id  text        NOT NULL,
    row_index   int         NOT NULL,
    seq         bigint      NOT NULL,               -- the label version that is waiting
    since       timestamptz NOT NULL DEFAULT now(), -- when the deliverer first found no prediction
    gave_up_at  timestamptz,                        -- set once wait_for_prediction had passed
    PRIMARY KEY (request_id, row_index)
);

CREATE INDEX label_waiting_open_idx ON shadowgate.label_waiting (seq) WHERE gave_up_at IS NULL;

COMMENT ON TABLE shadowgate.label_waiting IS
    'Labels waiting for their prediction (gave_up_at NULL) or given up after wait_for_prediction (see labels_unmatched).';
