-- Evidence-based promotion gates (issue 12).
--
-- * rollout_state.evidence_state: the controller's per-route state machine as JSON (evidence
--   counts since the last restart, watermarks, change detectors, learner version range), so a
--   replica that takes over the controller continues from it. NULL for a route not yet evaluated.
-- * shadowgate.evidence_counts(), the counts each evaluation reads since its watermarks, is
--   defined in migrations/functions/evidence.sql.

ALTER TABLE shadowgate.rollout_state ADD COLUMN evidence_state jsonb;
