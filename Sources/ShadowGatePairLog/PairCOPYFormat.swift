import LibPQ
import ShadowGatePairRecord

/// How a ``PairRecord`` becomes one row of `COPY shadowgate.pairs (…) FROM STDIN` text data.
///
/// The same bytes are sent to PostgreSQL and written to the spool, so a spooled row replays
/// exactly as it would have been written.
public enum PairCOPYFormat {
    /// The `shadowgate.pairs` columns, in the order rows are encoded.
    public static let columns: [String] = [
        "request_id", "route", "received_at", "served_by", "mode", "canary_percent",
        "legacy_status", "learner_status", "legacy_latency_us", "learner_latency_us",
        "legacy_outcome", "learner_outcome", "legacy_error", "learner_error",
        "legacy_output", "learner_output", "legacy_score", "learner_score",
        "legacy_label", "learner_label", "legacy_version", "learner_version",
        "shadow_skip", "features", "features_truncated", "holdout",
    ]

    /// The column list, parenthesised, for COPY and INSERT statements.
    public static let columnList = "(" + columns.joined(separator: ", ") + ")"

    /// `COPY <table> (<columns>) FROM STDIN` (text format).
    public static func copySQL(table: String = "shadowgate.pairs") -> String {
        "COPY \(table) \(columnList) FROM STDIN"
    }

    /// The staging path (spool replay, retries after an unclear COPY outcome): COPY into a temporary
    /// table, then an insert that skips pairs already stored, so replay is idempotent on request_id.
    static let stageTable = "shadowgate_pairs_stage"
    static let createStageSQL = """
        CREATE TEMP TABLE IF NOT EXISTS \(stageTable) (LIKE shadowgate.pairs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
        """
    static let copyStageSQL = copySQL(table: "pg_temp.\(stageTable)")
    static let insertStagedSQL = """
        INSERT INTO shadowgate.pairs \(columnList) SELECT \(columns.joined(separator: ", ")) FROM pg_temp.\(stageTable) \
        ON CONFLICT (request_id, received_at) DO NOTHING
        """

    /// Appends `record` as one complete row.
    public static func append(_ r: PairRecord, to e: inout COPYTextEncoder) {
        e.append(r.requestID)
        e.append(r.route)
        e.appendTimestamp(micros: r.receivedAtMicros)
        e.append(r.servedBy.rawValue)
        e.append(r.mode.rawValue)
        e.append(r.canaryPercent)
        e.append(r.legacy.status)
        e.append(r.learner.status)
        e.append(r.legacy.latencyMicros)
        e.append(r.learner.latencyMicros)
        e.append(r.legacy.outcome.rawValue)
        e.append(r.learner.outcome.rawValue)
        e.append(r.legacy.error)
        e.append(r.learner.error)
        e.append(r.legacy.output)
        e.append(r.learner.output)
        e.append(r.legacy.score)
        e.append(r.learner.score)
        e.append(r.legacy.label)
        e.append(r.learner.label)
        e.append(r.legacy.modelVersion)
        e.append(r.learner.modelVersion)
        e.append(r.shadowSkip?.rawValue)
        e.append(r.features)
        e.append(r.featuresTruncated)
        e.append(r.holdout)
        e.endRow()
    }
}
