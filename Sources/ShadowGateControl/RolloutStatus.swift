import LibPQ

/// Where a route stands in its rollout and why: its flags, the controller's last evaluation, which
/// replica holds the controller lock, and the latest rollout events. Read by `shadowgate rollout status`.
public struct RolloutStatus: Sendable {
    public struct Evaluation: Sendable {
        public var evaluatedAt: String
        public var outcome: String
        public var decision: String
        public var reason: String
        public var passingSince: String?
        public var rolledBackAt: String?
        public var learnerVersion: String?
        /// One line per gate: name, value, bound, threshold, hard/soft, outcome, and for evidence
        /// gates the lower and upper confidence bounds, the evidence count and the gate's alpha ("" otherwise).
        public var gates: [[String]]
        /// One sentence on the evidence the gates rest on (counts since the restart, learner
        /// versions, detectors); `nil` before the first evidence-based evaluation.
        public var evidence: String?
        public var controller: String
    }

    public struct Event: Sendable {
        public var at: String
        public var actor: String
        public var action: String
        public var from: String
        public var to: String
        public var reason: String
        public var learnerVersion: String?
    }

    public var flags: FlagRecord
    /// `nil` before the controller's first evaluation of the route.
    public var evaluation: Evaluation?
    /// The application name of the session holding the controller lock; `nil` when none does.
    public var controllerHolder: String?
    /// Newest first.
    public var events: [Event]

    /// Reads the status of `route`; `nil` when it has no flags.
    public static func load(route: String, connection: PGConnection, events limit: Int = 8) throws -> RolloutStatus? {
        guard let flags = try FlagStore(connection: connection).get(route: route) else { return nil }
        let holder = try connection.execute(
            """
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid AND l.objid = $2::int::oid
              AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, [String(PromotionController.lockClassID), String(PromotionController.lockObjectID)]).scalar
        let state = try connection.execute(
            """
            SELECT to_char(evaluated_at, 'YYYY-MM-DD HH24:MI:SS TZ') AS evaluated_at, outcome, decision, reason,
                   to_char(passing_since, 'HH24:MI:SS') AS passing_since, to_char(rolled_back_at, 'HH24:MI:SS') AS rolled_back_at,
                   learner_version, controller, g->>'gate' AS gate, g->>'value' AS value, g->>'bound' AS bound,
                   g->>'threshold' AS threshold, g->>'hard' AS hard, g->>'outcome' AS gate_outcome,
                   g->>'lower' AS lower, g->>'upper' AS upper, g->>'evidence' AS evidence, g->>'alpha' AS alpha,
                   format('%s labelled of %s pairs since %s, learner versions %s … %s; detectors: %s',
                          s.metrics->'evidence'->>'labelled', s.metrics->'evidence'->>'pairs',
                          to_char(to_timestamp((s.metrics->'evidence'->>'since')::float8), 'HH24:MI:SS'),
                          coalesce(s.metrics->'evidence'->>'first_learner_version', '?'),
                          coalesce(s.metrics->'evidence'->>'last_learner_version', '?'),
                          coalesce((SELECT string_agg(format('%s %s of %s', d->>'name', round((d->>'statistic')::numeric, 2), d->>'threshold'), ', ')
                                    FROM jsonb_array_elements(s.metrics->'evidence'->'detectors') d), 'none')) AS evidence_text,
                   s.metrics ? 'evidence' AS has_evidence
            FROM shadowgate.rollout_state s LEFT JOIN LATERAL jsonb_array_elements(s.gates) g ON true
            WHERE s.route = $1
            """, [route])
        var evaluation: Evaluation?
        if !state.rows.isEmpty {
            func v(_ column: String) -> String? { state.value(column) }
            evaluation = Evaluation(
                evaluatedAt: v("evaluated_at") ?? "", outcome: v("outcome") ?? "", decision: v("decision") ?? "",
                reason: v("reason") ?? "", passingSince: v("passing_since"), rolledBackAt: v("rolled_back_at"),
                learnerVersion: v("learner_version"),
                gates: state.rows.indices.compactMap { row in
                    guard let gate = state.value("gate", row: row) else { return nil }
                    return [gate, state.value("value", row: row) ?? "n/a", state.value("bound", row: row) ?? "n/a",
                            state.value("threshold", row: row) ?? "", state.value("hard", row: row) == "true" ? "hard" : "soft",
                            state.value("gate_outcome", row: row) ?? "",
                            state.value("lower", row: row) ?? "", state.value("upper", row: row) ?? "",
                            state.value("evidence", row: row) ?? "", state.value("alpha", row: row) ?? ""]
                },
                evidence: v("has_evidence") == "t" ? v("evidence_text") : nil,
                controller: v("controller") ?? "")
        }
        let rows = try connection.execute(
            """
            SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS') AS at, actor, action,
                   coalesce(from_mode || ' ' || from_percent, '—') AS from_flags, to_mode || ' ' || to_percent AS to_flags,
                   reason, learner_version
            FROM shadowgate.rollout_events WHERE route = $1 ORDER BY id DESC LIMIT $2::int
            """, [route, String(limit)])
        let events = rows.rows.indices.map { row in
            Event(at: rows.value("at", row: row) ?? "", actor: rows.value("actor", row: row) ?? "",
                  action: rows.value("action", row: row) ?? "", from: rows.value("from_flags", row: row) ?? "",
                  to: rows.value("to_flags", row: row) ?? "", reason: rows.value("reason", row: row) ?? "",
                  learnerVersion: rows.value("learner_version", row: row))
        }
        return RolloutStatus(flags: flags, evaluation: evaluation, controllerHolder: holder, events: events)
    }
}
