import LibPQ

/// How a ``LabelRecord`` becomes one row of COPY text data, and how such rows reach
/// `shadowgate.labels`: always through a staging table and an upsert, because a later label for
/// the same (request_id, row_index) replaces the earlier one — a plain COPY would fail on it.
///
/// The same bytes are written to the spool, so a spooled label replays exactly as it would have
/// been written.
enum LabelCOPYFormat {
    static let columns = ["request_id", "row_index", "route", "label", "received_at"]
    static let columnList = "(" + columns.joined(separator: ", ") + ")"
    static let stageTable = "shadowgate_labels_stage"

    /// `seq` keeps the COPY order, so of two labels for one key with the same timestamp the one
    /// sent later wins.
    static let createStageSQL = """
        CREATE TEMP TABLE IF NOT EXISTS \(stageTable) (
            request_id text, row_index int, route text, label text, received_at timestamptz, seq bigserial
        ) ON COMMIT DELETE ROWS
        """

    static let copyStageSQL = "COPY pg_temp.\(stageTable) \(columnList) FROM STDIN"

    /// The newest label per key in the batch replaces the stored one unless that one is newer.
    /// label_value is computed here, set-based, so the row trigger `labels_fill_value` (kept for
    /// plain-SQL writers) does not fire: it cost about as much as the insert itself.
    static let upsertSQL = """
        INSERT INTO shadowgate.labels (\(columns.joined(separator: ", ")), label_value)
        SELECT DISTINCT ON (request_id, row_index) \(columns.joined(separator: ", ")), shadowgate.parse_float(label)
        FROM pg_temp.\(stageTable)
        ORDER BY request_id, row_index, received_at DESC, seq DESC
        ON CONFLICT (request_id, row_index) DO UPDATE
            SET route = coalesce(EXCLUDED.route, shadowgate.labels.route), label = EXCLUDED.label, label_value = EXCLUDED.label_value,
                received_at = EXCLUDED.received_at
            WHERE shadowgate.labels.received_at <= EXCLUDED.received_at
        """

    static func append(_ r: LabelRecord, to e: inout COPYTextEncoder) {
        e.append(r.requestID)
        e.append(r.rowIndex)
        e.append(r.route)
        e.append(r.label)
        e.appendTimestamp(micros: r.receivedAtMicros)
        e.endRow()
    }
}
