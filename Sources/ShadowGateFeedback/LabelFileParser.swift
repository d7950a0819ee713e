import Foundation

/// Reads a labels file for `shadowgate labels import`: CSV or JSON lines, one label per line.
///
/// - CSV: `request_id,label` or `request_id,index,label` (RFC 4180 quoting). A first line naming
///   the columns (`request_id`, `index` or `row_index`, `label`, any order) is a header; without
///   one, two fields are (request id, label) and three are (request id, index, label).
/// - JSON lines: `{"request_id": "…", "index"?: n, "label": …}` per line; the label a number,
///   string or boolean (a string is stored unquoted, as `POST /v1/feedback` stores it).
///
/// Promises: pure (bytes in, labels out); a bad line throws a ``LabelFileError`` naming the line
/// number and the problem, and nothing of the file should then be imported. Blank lines are skipped.
public struct LabelFileParser: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case csv, jsonl
    }

    /// One parsed label.
    public struct Label: Sendable, Hashable {
        public var requestID: String
        public var rowIndex: Int
        public var label: String
    }

    public let format: Format
    private var columns: (id: Int, index: Int?, label: Int)?
    private var lineNumber = 0

    public init(format: Format) {
        self.format = format
    }

    /// The format named by a file's extension (`.csv`; `.jsonl`, `.ndjson`, `.json`), else `nil`.
    public static func format(forPath path: String) -> Format? {
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": return .csv
        case "jsonl", "ndjson", "json": return .jsonl
        default: return nil
        }
    }

    /// Whether the lines after this one can be read by a copy of this parser (a CSV file's
    /// columns are known), so a file can be read in parts at once.
    var knowsColumns: Bool { format == .jsonl || columns != nil }

    /// Counts `lines` lines as read (a copy that starts further down the file names lines right).
    mutating func skip(lines: Int) { lineNumber += lines }

    /// Parses one line (without its newline); `nil` for a blank line or a CSV header.
    public mutating func parse(line: Substring.UTF8View) throws(LabelFileError) -> Label? {
        lineNumber += 1
        if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { return nil }
        switch format {
        case .csv: return try parseCSV(line)
        case .jsonl: return try parseJSON(line)
        }
    }

    private mutating func parseCSV(_ line: Substring.UTF8View) throws(LabelFileError) -> Label? {
        if let c = columns, let fast = line.withContiguousStorageIfAvailable({ Self.plainCSV($0, columns: c) }), let fast {
            return try label(id: fast.id, index: fast.index, label: fast.label)
        }
        let fields = try Self.csvFields(line, lineNumber: lineNumber)
        if columns == nil {
            let names = fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if let id = names.firstIndex(of: "request_id"), let label = names.firstIndex(of: "label") {
                columns = (id, names.firstIndex(of: "index") ?? names.firstIndex(of: "row_index"), label)
                return nil
            }
            switch fields.count {
            case 2: columns = (0, nil, 1)
            case 3: columns = (0, 1, 2)
            default:
                throw LabelFileError(line: lineNumber, "expected request_id,label or request_id,index,label; got \(fields.count) fields")
            }
        }
        let c = columns!
        guard fields.count > max(c.id, c.label, c.index ?? 0) else {
            throw LabelFileError(line: lineNumber, "expected at least \(max(c.id, c.label, c.index ?? 0) + 1) fields, got \(fields.count)")
        }
        var index = 0
        if let i = c.index {
            let text = fields[i].trimmingCharacters(in: .whitespaces)
            if !text.isEmpty {
                guard let n = Int(text), n >= 0, n <= Int(Int32.max) else {
                    throw LabelFileError(line: lineNumber, "the index must be a whole number ≥ 0, got '\(text)'")
                }
                index = n
            }
        }
        return try label(id: fields[c.id], index: index, label: fields[c.label])
    }

    /// The common line of a large file, read straight from its bytes: no quote anywhere and a
    /// plain index (digits only, or empty). `nil` sends the line to the general reader, which
    /// gives the same result or names the problem.
    private static func plainCSV(_ line: UnsafeBufferPointer<UInt8>, columns: (id: Int, index: Int?, label: Int))
        -> (id: String, index: Int, label: String)? {
        var end = line.count
        if end > 0 && line[end - 1] == 13 { end -= 1 }
        var ranges: (id: Range<Int>?, index: Range<Int>?, label: Range<Int>?) = (nil, nil, nil)
        var field = 0
        var start = 0
        var i = 0
        while i <= end {
            let b = i < end ? line[i] : 44
            if b == 34 { return nil }
            if b == 44 {
                if field == columns.id { ranges.id = start..<i }
                if field == columns.label { ranges.label = start..<i }
                if field == columns.index { ranges.index = start..<i }
                field += 1
                start = i + 1
            }
            i += 1
        }
        guard let id = ranges.id, let label = ranges.label else { return nil }
        var index = 0
        if columns.index != nil {
            guard let range = ranges.index, range.count <= 10 else { return nil }
            for k in range {
                let d = line[k]
                guard d >= 48 && d <= 57 else { return nil }
                index = index * 10 + Int(d - 48)
            }
            guard index <= Int(Int32.max) else { return nil }
        }
        let base = line.baseAddress!
        return (String(decoding: UnsafeBufferPointer(start: base + id.lowerBound, count: id.count), as: UTF8.self),
                index,
                String(decoding: UnsafeBufferPointer(start: base + label.lowerBound, count: label.count), as: UTF8.self))
    }

    private func label(id: String, index: Int, label: String) throws(LabelFileError) -> Label {
        guard !id.isEmpty, id.utf8.count <= 128 else {
            throw LabelFileError(line: lineNumber, "the request id must be a non-empty string of at most 128 bytes")
        }
        guard !label.isEmpty else { throw LabelFileError(line: lineNumber, "the label is empty") }
        return Label(requestID: id, rowIndex: index, label: label)
    }

    static func csvFields(_ line: Substring.UTF8View, lineNumber: Int) throws(LabelFileError) -> [String] {
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var i = line.startIndex
        var atFieldStart = true
        while i != line.endIndex {
            let b = line[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    let next = line.index(after: i)
                    if next != line.endIndex && line[next] == UInt8(ascii: "\"") {
                        field.append(b)
                        i = next
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == UInt8(ascii: "\"") && atFieldStart {
                quoted = true
            } else if b == UInt8(ascii: ",") {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                atFieldStart = true
                i = line.index(after: i)
                continue
            } else if b != 13 || line.index(after: i) != line.endIndex {
                field.append(b)
            }
            atFieldStart = false
            i = line.index(after: i)
        }
        guard !quoted else { throw LabelFileError(line: lineNumber, "a quoted field is not closed") }
        fields.append(String(decoding: field, as: UTF8.self))
        return fields
    }

    private func parseJSON(_ line: Substring.UTF8View) throws(LabelFileError) -> Label {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line), options: []) as? [String: Any] else {
            throw LabelFileError(line: lineNumber, "not a JSON object")
        }
        guard let id = object["request_id"] as? String else {
            throw LabelFileError(line: lineNumber, "'request_id' must be a string")
        }
        var index = 0
        if let raw = object["index"] ?? object["row_index"] {
            guard let n = raw as? NSNumber, !Self.isBoolean(n), n.doubleValue >= 0, n.doubleValue == n.doubleValue.rounded(),
                  n.doubleValue <= Double(Int32.max) else {
                throw LabelFileError(line: lineNumber, "'index' must be a whole number ≥ 0")
            }
            index = n.intValue
        }
        let text: String
        switch object["label"] {
        case let s as String:
            text = s
        case let n as NSNumber where Self.isBoolean(n):
            text = n.boolValue ? "true" : "false"
        case let n as NSNumber:
            let v = n.doubleValue
            guard v.isFinite else { throw LabelFileError(line: lineNumber, "'label' must be a finite number") }
            text = v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
        default:
            throw LabelFileError(line: lineNumber, "'label' must be a number, a string or a boolean")
        }
        return try label(id: id, index: index, label: text)
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}

/// A line of a labels file that cannot be imported.
public struct LabelFileError: Error, CustomStringConvertible {
    public var line: Int
    public var problem: String

    init(line: Int, _ problem: String) {
        self.line = line
        self.problem = problem
    }

    public var description: String { "line \(line): \(problem)" }
}
