-- Comparing the two models in SQL: the labels table (ground truth arriving as feedback).
--
-- Up to commit 85424dd this file also defined the statistics helpers (KS, PSI, chi-squared),
-- compare(), compare_series(), feature_drift() and the trigger filling labels.label_value; they
-- are defined once, in their current form, in functions/ (see migrations/README.md).

-- ---------------------------------------------------------------------------------------------
-- Labels
-- ---------------------------------------------------------------------------------------------

-- Ground truth for a request, joined to shadowgate.pairs on request_id. Labels may arrive long
-- after the prediction; a later label for the same request replaces the earlier one (upsert).
CREATE TABLE shadowgate.labels (
    request_id   text             NOT NULL PRIMARY KEY,
    route        text             NOT NULL,
    label        text             NOT NULL,
    label_value  double precision,              -- the label as a number when it parses as one
    received_at  timestamptz      NOT NULL DEFAULT now()
);

COMMENT ON TABLE shadowgate.labels IS
    'Ground-truth labels (feedback) per request_id; label_value is the numeric label when label parses as a number.';

CREATE INDEX labels_route_received_at_idx ON shadowgate.labels (route, received_at);
