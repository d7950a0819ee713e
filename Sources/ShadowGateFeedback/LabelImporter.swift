import Foundation
import LibPQ

/// Loads a labels file into `shadowgate.labels` with COPY (`shadowgate labels import`).
///
/// Promises:
/// - The file is parsed whole first; a bad line stops the import before anything is written.
/// - Labels go in chunks, each one transaction: COPY into a temporary table, then one upsert on
///   (request_id, row_index) — within the file the later line wins; a stored label with another
///   value is replaced (and so delivered again), the same value is left as it is (not re-sent).
///   An import that fails midway leaves the chunks before it imported; running it again is safe.
/// - The labels get `received_at = now()` and their place in the delivery order from the table's
///   defaults, so the deliverer sends them to the learners like labels posted to the gateway.
/// - `progress` is called after each chunk with (labels done, labels in the file).
public struct LabelImporter {
    public static let chunkRows = 200_000

    public struct Summary: Sendable {
        public var labels: Int
        public var written: Int
        public var seconds: Double
    }

    static let stageSQL = """
        CREATE TEMP TABLE IF NOT EXISTS shadowgate_labels_import (
            line bigint, request_id text, row_index int, label text
        ) ON COMMIT DELETE ROWS
        """

    static let upsertSQL = """
        INSERT INTO shadowgate.labels AS l (request_id, row_index, label)
        SELECT DISTINCT ON (request_id, row_index) request_id, row_index, label
        FROM pg_temp.shadowgate_labels_import
        ORDER BY request_id, row_index, line DESC
        ON CONFLICT (request_id, row_index) DO UPDATE
            SET label = EXCLUDED.label, label_value = NULL, received_at = EXCLUDED.received_at
            WHERE l.label IS DISTINCT FROM EXCLUDED.label
        """

    public init() {}

    /// Parses `bytes` in `format` (every line), then writes the labels.
    public func run(bytes: [UInt8], format: LabelFileParser.Format, connection: PGConnection,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        let started = Date()
        let labels = try Self.parse(bytes: bytes, format: format)
        try connection.execute(Self.stageSQL)
        var written = 0
        var done = 0
        var line: Int64 = 0
        while done < labels.count {
            let chunk = labels[done..<min(labels.count, done + Self.chunkRows)]
            var encoder = COPYTextEncoder(reservingCapacity: chunk.count * 48)
            for label in chunk {
                line += 1
                encoder.append(Int64(line))
                encoder.append(label.requestID)
                encoder.append(label.rowIndex)
                encoder.append(label.label)
                encoder.endRow()
            }
            try connection.execute("BEGIN")
            do {
                try connection.copyIn("COPY pg_temp.shadowgate_labels_import (line, request_id, row_index, label) FROM STDIN") { send in
                    try encoder.bytes.withUnsafeBytes { try send($0) }
                }
                written += try connection.execute(Self.upsertSQL).affectedRows ?? 0
                try connection.execute("COMMIT")
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw error
            }
            done += chunk.count
            progress(done, labels.count)
        }
        return Summary(labels: labels.count, written: written, seconds: Date().timeIntervalSince(started))
    }

    /// Every label of the file, in file order.
    public static func parse(bytes: [UInt8], format: LabelFileParser.Format) throws(LabelFileError) -> [LabelFileParser.Label] {
        var parser = LabelFileParser(format: format)
        var labels: [LabelFileParser.Label] = []
        labels.reserveCapacity(bytes.count / 24)
        let text = Substring(decoding: bytes, as: UTF8.self)
        var start = text.utf8.startIndex
        let end = text.utf8.endIndex
        while start < end {
            let newline = text.utf8[start...].firstIndex(of: 10) ?? end
            if let label = try parser.parse(line: text.utf8[start..<newline]) { labels.append(label) }
            start = newline == end ? end : text.utf8.index(after: newline)
        }
        return labels
    }
}
