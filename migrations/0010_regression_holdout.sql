-- The legacy holdout (issue 12): a sticky slice of a route's traffic (holdout_percent) that legacy
-- always serves and whose labels are never forwarded to the learner.
--
-- * pairs.holdout: the request was in the holdout when it was routed (written by the gateway).
-- * pair_stats.holdout: the same, copied by the trigger on pairs (functions/pairs_fill_stats.sql),
--   so evidence_counts() / regression_evidence() can restrict a route's evidence to the holdout
--   (promotion `evidence: holdout`).
-- Both default to false: pairs logged before this migration were in no holdout. Adding a column
-- with a constant default rewrites nothing (PostgreSQL >= 11).

ALTER TABLE shadowgate.pairs ADD COLUMN holdout boolean NOT NULL DEFAULT false;
ALTER TABLE shadowgate.pair_stats ADD COLUMN holdout boolean NOT NULL DEFAULT false;

-- * rollout_evaluations: every evidence gate's estimate and confidence bounds at each evaluation
--   of the promotion controller (its `gates` JSON, as rollout_state.gates), so the HTML report
--   can draw the bounds over time; the controller deletes a route's rows older than 7 days.
CREATE TABLE shadowgate.rollout_evaluations (
    route    text        NOT NULL,
    at       timestamptz NOT NULL,
    outcome  text        NOT NULL,
    gates    jsonb       NOT NULL,
    PRIMARY KEY (route, at)
);
