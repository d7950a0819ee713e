-- Label delivery makes progress per route (issue 13): a route whose learner keeps failing no
-- longer holds up the one cursor for every route. After a few failures in a row its labels of
-- the plan in flight are parked here (in the statement that moves the cursor past them, so none
-- is lost); while a route has parked labels its later labels are parked behind them, and the
-- deliverer sends them in (txid, seq) order once the learner answers again, removing each in
-- the statement that records its answer. The functions are in migrations/functions/labels.sql.
CREATE TABLE shadowgate.label_delivery_parked (
    seq         bigint      PRIMARY KEY,            -- the label version (labels.seq is unique)
    route       text        NOT NULL,
    txid        xid8        NOT NULL,               -- its place in the delivery order, with seq
    request_id  text        NOT NULL,
    row_index   int         NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX label_delivery_parked_order_idx ON shadowgate.label_delivery_parked (route, txid, seq);

COMMENT ON TABLE shadowgate.label_delivery_parked IS
    'Labels set aside for a route whose learner kept failing; delivered in (txid, seq) order once it answers again.';
