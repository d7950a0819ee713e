import Foundation
import LibPQ

/// Loads a labels file into `shadowgate.labels` with COPY (`shadowgate labels import`).
///
/// Promises:
/// - The file is parsed whole first; a bad line stops the import before anything is written.
/// - Within the file the later line for a (request_id, row_index) wins; a stored label with
///   another value is replaced (and so delivered again), the same value is left as it is (not
///   re-sent).
/// - Labels go in chunks, each one transaction. A chunk is first COPied straight into
///   `shadowgate.labels` (the fast path, as fast as `psql \copy`): when none of its keys is stored,
///   that is all. When one is (a unique violation: a re-import, or a concurrent writer), the chunk
///   is rolled back and written through a temporary table instead, and so are the chunks after it:
///   COPY into the temporary table, then one set-based INSERT of the keys not stored yet and, only
///   when some were, one UPDATE of those whose value changed. When a concurrent writer stores one
///   of the chunk's keys in between (unique violation), the chunk is written again with the
///   general upsert. An import that fails midway leaves the chunks before it imported; running it
///   again is safe.
/// - label_value is computed here (``LabelValue``), so the table's row trigger does not run.
/// - The labels get `received_at = now()` and their place in the delivery order from the table's
///   defaults, so the deliverer sends them to the learners like labels posted to the gateway.
/// - `progress` is called after each chunk with (labels done, labels to write: the file's, one
///   per key).
public struct LabelImporter {
    public static let chunkRows = 200_000

    public struct Summary: Sendable {
        public var labels: Int
        public var written: Int
        public var seconds: Double
    }

    static let stageSQL = """
        CREATE TEMP TABLE IF NOT EXISTS shadowgate_labels_import (
            request_id text, row_index int, label text, label_value float8
        ) ON COMMIT DELETE ROWS
        """

    static let copySQL = "COPY pg_temp.shadowgate_labels_import (request_id, row_index, label, label_value) FROM STDIN"

    /// The fast path: every key of the chunk is new. A stored key fails the whole COPY with a
    /// unique violation, so nothing of the chunk is written twice or half.
    static let directCopySQL = "COPY shadowgate.labels (request_id, row_index, label, label_value) FROM STDIN"

    /// Keys not stored yet: a plain insert (no speculative insertion per row, as ON CONFLICT
    /// would do; that is a third of the cost of a row).
    static let insertNewSQL = """
        INSERT INTO shadowgate.labels (request_id, row_index, label, label_value)
        SELECT s.request_id, s.row_index, s.label, s.label_value
        FROM pg_temp.shadowgate_labels_import s
        WHERE NOT EXISTS (SELECT 1 FROM shadowgate.labels l WHERE l.request_id = s.request_id AND l.row_index = s.row_index)
        """

    /// Stored keys whose value changed (labels_reorder_changed gives them a new delivery place).
    static let updateChangedSQL = """
        UPDATE shadowgate.labels l
        SET label = s.label, label_value = s.label_value, received_at = now()
        FROM pg_temp.shadowgate_labels_import s
        WHERE l.request_id = s.request_id AND l.row_index = s.row_index AND l.label IS DISTINCT FROM s.label
        """

    /// The general form, for a chunk that raced with another writer.
    static let upsertSQL = """
        INSERT INTO shadowgate.labels AS l (request_id, row_index, label, label_value)
        SELECT request_id, row_index, label, label_value
        FROM pg_temp.shadowgate_labels_import
        ON CONFLICT (request_id, row_index) DO UPDATE
            SET label = EXCLUDED.label, label_value = EXCLUDED.label_value, received_at = EXCLUDED.received_at
            WHERE l.label IS DISTINCT FROM EXCLUDED.label
        """

    /// Labels per chunk (one transaction each).
    public let chunkRows: Int

    public init(chunkRows: Int = LabelImporter.chunkRows) {
        self.chunkRows = max(1, chunkRows)
    }

    /// Parses `bytes` in `format` (every line), then writes the labels.
    public func run(bytes: [UInt8], format: LabelFileParser.Format, connection: PGConnection,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        let started = Date()
        let parsed = try Self.parse(bytes: bytes, format: format)
        let labels = Self.lastPerKey(parsed)
        try connection.execute(Self.stageSQL)
        var written = 0
        var done = 0
        // Straight COPY until a chunk meets a stored key; from then on (a re-import, most likely)
        // through the temporary table, so no more chunks are sent twice.
        var direct = true
        while done < labels.count {
            let chunk = labels[done..<min(labels.count, done + chunkRows)]
            do {
                if direct {
                    do {
                        written += try copyDirect(chunk, connection: connection)
                        done += chunk.count
                        progress(done, labels.count)
                        continue
                    } catch let error as PGError where error.isUniqueViolation {
                        direct = false
                    }
                }
                written += try write(chunk, connection: connection, upsert: false)
            } catch let error as PGError where error.isUniqueViolation {
                written += try write(chunk, connection: connection, upsert: true)
            }
            done += chunk.count
            progress(done, labels.count)
        }
        return Summary(labels: parsed.count, written: written, seconds: Date().timeIntervalSince(started))
    }

    /// Bytes of COPY data handed to libpq at a time. The chunk is encoded piece by piece while
    /// the server already parses the pieces before (the encoding overlaps the server's work,
    /// and no chunk-sized buffer is built).
    static let sendBytes = 256 * 1024

    /// Encodes `chunk` as COPY text rows, handing them to `send` in pieces of about ``sendBytes``.
    static func encode(_ chunk: ArraySlice<LabelFileParser.Label>, send: (UnsafeRawBufferPointer) throws -> Void) throws {
        var encoder = COPYTextEncoder(reservingCapacity: sendBytes + 1024)
        for label in chunk {
            encoder.append(label.requestID)
            encoder.append(label.rowIndex)
            encoder.append(label.label)
            if let value = LabelValue.parse(label.label), value == value.rounded(), abs(value) < 1e15,
               value != 0 || value.sign == .plus {
                // A whole number as an integer: float8 reads it back exactly, and it skips
                // Double.description (a String per row).
                encoder.append(Int64(value))
            } else {
                encoder.append(LabelValue.parse(label.label))
            }
            encoder.endRow()
            if encoder.bytes.count >= sendBytes {
                try encoder.bytes.withUnsafeBytes { try send($0) }
                encoder.removeAll()
            }
        }
        if !encoder.bytes.isEmpty { try encoder.bytes.withUnsafeBytes { try send($0) } }
    }

    /// One chunk of new keys in one transaction, COPied into the table; rows inserted.
    private func copyDirect(_ chunk: ArraySlice<LabelFileParser.Label>, connection: PGConnection) throws -> Int {
        try connection.execute("BEGIN")
        do {
            let rows = try connection.copyIn(Self.directCopySQL) { send in
                try Self.encode(chunk, send: send)
            }
            try connection.execute("COMMIT")
            return rows
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// One chunk in one transaction; rows inserted or changed.
    private func write(_ chunk: ArraySlice<LabelFileParser.Label>, connection: PGConnection, upsert: Bool) throws -> Int {
        let rows = chunk.count
        try connection.execute("BEGIN")
        do {
            try connection.copyIn(Self.copySQL) { send in
                try Self.encode(chunk, send: send)
            }
            var written: Int
            if upsert {
                written = try connection.execute(Self.upsertSQL).affectedRows ?? 0
            } else {
                written = try connection.execute(Self.insertNewSQL).affectedRows ?? 0
                if written < rows {
                    written += try connection.execute(Self.updateChangedSQL).affectedRows ?? 0
                }
            }
            try connection.execute("COMMIT")
            return written
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The labels with one entry per (request id, row): the last line's, in file order of those lines.
    static func lastPerKey(_ labels: [LabelFileParser.Label]) -> [LabelFileParser.Label] {
        struct Key: Hashable { var id: String; var row: Int }
        var last: [Key: Int] = [:]
        last.reserveCapacity(labels.count)
        for (i, label) in labels.enumerated() { last[Key(id: label.requestID, row: label.rowIndex)] = i }
        guard last.count < labels.count else { return labels }
        return labels.indices.filter { last[Key(id: labels[$0].requestID, row: labels[$0].rowIndex)] == $0 }.map { labels[$0] }
    }

    /// Every label of the file, in file order. A large file is read in two halves at once (split
    /// at a line end); the first problem in file order is the one thrown.
    public static func parse(bytes: [UInt8], format: LabelFileParser.Format) throws(LabelFileError) -> [LabelFileParser.Label] {
        var parser = LabelFileParser(format: format)
        let text = Substring(decoding: bytes, as: UTF8.self).utf8
        var labels: [LabelFileParser.Label] = []
        // The first lines alone, until a CSV file's columns are known (its header or first row).
        var start = text.startIndex
        while start < text.endIndex && !parser.knowsColumns {
            let newline = text[start...].firstIndex(of: 10) ?? text.endIndex
            if let label = try parser.parse(line: text[start..<newline]) { labels.append(label) }
            start = newline == text.endIndex ? newline : text.index(after: newline)
        }
        let rest = text.distance(from: start, to: text.endIndex)
        guard rest >= 1 << 20 else {
            try parseLines(text[start...], parser: &parser, into: &labels)
            return labels
        }
        let middle = text.index(start, offsetBy: rest / 2)
        let split = (text[middle...].firstIndex(of: 10)).map { text.index(after: $0) } ?? text.endIndex
        var second = parser
        second.skip(lines: text[start..<split].reduce(0) { $1 == 10 ? $0 + 1 : $0 })
        let halves = Halves()
        let (first, from) = (parser, start)
        let secondParser = second
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            var p = part == 0 ? first : secondParser
            var out: [LabelFileParser.Label] = []
            let lines = part == 0 ? text[from..<split] : text[split...]
            do throws(LabelFileError) {
                try parseLines(lines, parser: &p, into: &out)
                halves.set(part, .success(out))
            } catch {
                halves.set(part, .failure(error))
            }
        }
        labels.append(contentsOf: try halves.get(0))
        labels.append(contentsOf: try halves.get(1))
        return labels
    }

    private final class Halves: @unchecked Sendable {
        private var results: [Result<[LabelFileParser.Label], LabelFileError>?] = [nil, nil]
        private let lock = NSLock()
        func set(_ part: Int, _ result: Result<[LabelFileParser.Label], LabelFileError>) {
            lock.withLock { results[part] = result }
        }
        func get(_ part: Int) throws(LabelFileError) -> [LabelFileParser.Label] {
            try lock.withLock { results[part]! }.get()
        }
    }

    private static func parseLines(_ text: Substring.UTF8View, parser: inout LabelFileParser,
                                   into labels: inout [LabelFileParser.Label]) throws(LabelFileError) {
        labels.reserveCapacity(labels.count + text.count / 16)
        var start = text.startIndex
        let end = text.endIndex
        while start < end {
            let newline = text[start...].firstIndex(of: 10) ?? end
            if let label = try parser.parse(line: text[start..<newline]) { labels.append(label) }
            start = newline == end ? end : text.index(after: newline)
        }
    }
}
