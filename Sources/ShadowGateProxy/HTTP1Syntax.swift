#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The byte-level HTTP/1 syntax both of the gateway's parsers share: the client's requests
/// (``HTTP1RequestDecoder``) and the upstreams' responses (``UpstreamResponseParser``).
///
/// Strict where a proxy must be (RFC 9110, RFC 9112): a field name is a non-empty token followed
/// directly by `:`; a value has no control bytes but tab; obsolete line folding, a malformed
/// `Content-Length` and two that differ are refused. Lines end with CRLF or a bare LF.
enum HTTP1Syntax {
    /// Lines of a head: ranges without their CRLF or LF.
    struct LineCursor {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        /// A line so far ended with a bare LF (no CR before it): for readers that require CRLF.
        private(set) var sawBareLF = false

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func next() -> Range<Int>? {
            guard let lf = HTTP1Syntax.firstLF(bytes, from: position) else { return nil }
            let end = lf > position && bytes[lf - 1] == UInt8(ascii: "\r") ? lf - 1 : lf
            if end == lf { sawBareLF = true }
            defer { position = lf + 1 }
            return position..<end
        }
    }

    /// What framing and connection handling need from a head's fields.
    struct Fields {
        /// Where the field lines are (after the start line, up to the empty line).
        var range: Range<Int>
        var contentLength: Int?
        /// How many `Content-Length` fields there were (equal ones may repeat).
        var contentLengthFields = 0
        var transferEncoding = false
        /// The last transfer coding is `chunked` (RFC 9112 §6.3: only the last one frames the body).
        var chunked = false
        /// `chunked` appears before the last coding (applied twice, or not last): never valid in a request.
        var chunkedNotLast = false
        var close = false
        var keepAliveToken = false
    }

    /// Reads the field lines that follow the start line up to the empty line, calling `field` with
    /// each name and value (trimmed). Fails with a short reason for the operator's log.
    static func readFields(
        _ bytes: UnsafeRawBufferPointer, lines: inout LineCursor,
        _ field: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void = { _, _ in }
    ) -> Result<Fields, FieldError> {
        var fields = Fields(range: lines.position..<lines.position)
        while let line = lines.next(), !line.isEmpty {
            let name: UnsafeRawBufferPointer
            let value: UnsafeRawBufferPointer
            switch Self.field(UnsafeRawBufferPointer(rebasing: bytes[line])) {
            case .success(let parts): (name, value) = parts
            case .failure(let error): return .failure(error)
            }
            switch name.count {
            case 10 where name.equalsLowercaseASCII("connection"):
                forEachToken(value) { token in
                    if token.equalsLowercaseASCII("close") { fields.close = true }
                    if token.equalsLowercaseASCII("keep-alive") { fields.keepAliveToken = true }
                }
            case 14 where name.equalsLowercaseASCII("content-length"):
                guard let length = decimal(value), fields.contentLength == nil || fields.contentLength == length else {
                    return .failure(.badContentLength)
                }
                fields.contentLength = length
                fields.contentLengthFields += 1
            case 17 where name.equalsLowercaseASCII("transfer-encoding"):
                fields.transferEncoding = true
                var chunked = false
                forEachToken(value) { token in
                    if chunked { fields.chunkedNotLast = true }
                    chunked = token.equalsLowercaseASCII("chunked")
                }
                // A second field continues the list: `chunked` before it is no longer last.
                if fields.chunked { fields.chunkedNotLast = true }
                fields.chunked = chunked
            default:
                break
            }
            field(name, value)
            fields.range = fields.range.lowerBound..<lines.position
        }
        return .success(fields)
    }

    /// One field line (without its line end): a token name directly followed by `:`, then the
    /// value without its leading and trailing blanks and without control bytes but tab.
    static func field(_ line: UnsafeRawBufferPointer) -> Result<(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer), FieldError> {
        guard let first = line.first else { return .failure(.badLine) }
        if isBlank(first) { return .failure(.obsoleteFolding) }
        // The name's bytes are tokens up to the colon; anything else there is refused.
        var colon = 0
        while colon < line.count, isTokenByte(line[colon]) { colon += 1 }
        guard colon < line.count, colon > 0 else { return .failure(.badLine) }
        guard line[colon] == UInt8(ascii: ":") else { return .failure(.badName) }
        let (name, value) = split(line, colon: colon)
        for byte in value where !isValueByte(byte) { return .failure(.badValue) }
        return .success((name, value))
    }

    /// A field line's name (before `colon`) and value (after it, without leading and trailing blanks),
    /// unchecked: for lines ``field(_:)`` has read.
    static func split(_ line: UnsafeRawBufferPointer, colon: Int) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        (UnsafeRawBufferPointer(rebasing: line[..<colon]), UnsafeRawBufferPointer(rebasing: line[trimmingBlanks(line, (colon + 1)..<line.count)]))
    }

    enum FieldError: Error {
        case obsoleteFolding, badLine, badName, badValue, badContentLength

        var reason: String {
            switch self {
            case .obsoleteFolding: "obsolete line folding"
            case .badLine: "bad header line"
            case .badName: "bad header name"
            case .badValue: "bad header value"
            case .badContentLength: "bad content-length"
            }
        }
    }

    /// The index of the first LF at or after `start` (`memchr`: heads are scanned for line ends
    /// several times, and byte loops were a visible share of every request).
    static func firstLF(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress,
              let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// Length of the head including its empty last line, when `bytes` hold all of it.
    /// `from` skips bytes already searched (a line end before it is not the head's end).
    static func headLength(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let n = bytes.count
        var from = start
        while let i = firstLF(bytes, from: from) {
            // A line ended at i; the head ends if the next line is empty.
            if i + 1 < n, bytes[i + 1] == lf { return i + 2 }
            if i + 2 < n, bytes[i + 1] == cr, bytes[i + 2] == lf { return i + 3 }
            from = i + 1
        }
        return nil
    }

    /// The next line of `bytes`: `content` bytes before its CRLF (or LF), `length` with it; nil when
    /// no line end has arrived yet.
    static func line(_ bytes: UnsafeRawBufferPointer) -> (content: Int, length: Int)? {
        guard let lf = firstLF(bytes, from: 0) else { return nil }
        let content = lf > 0 && bytes[lf - 1] == UInt8(ascii: "\r") ? lf - 1 : lf
        return (content, lf + 1)
    }

    /// A chunk-size line: hex digits, then optional whitespace and `;` extensions (ignored).
    /// `strict` (requests, as llhttp): no whitespace after the digits and no control bytes in extensions.
    static func chunkSize(_ line: UnsafeRawBufferPointer, strict: Bool = false) -> Int? {
        var size = 0
        var digits = 0
        var i = 0
        while i < line.count, let value = hexValue(line[i]) {
            // Leading zeros do not count toward the 15 digits (llhttp takes them too).
            if size > 0 || value > 0 { digits += 1 }
            // 15 hex digits stay far below Int.max; a bigger chunk is over any body limit anyway.
            guard digits <= 15 else { return nil }
            size = size << 4 | value
            i += 1
        }
        guard i > 0 else { return nil }
        if strict {
            guard i == line.count || line[i] == UInt8(ascii: ";") else { return nil }
            for byte in line[i...] where !isValueByte(byte) { return nil }
            return size
        }
        while i < line.count, isBlank(line[i]) { i += 1 }
        guard i == line.count || line[i] == UInt8(ascii: ";") else { return nil }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// A decimal `Content-Length` (at most 18 digits, nothing else).
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Calls `body` with each comma-separated token of a list value, trimmed of spaces and tabs.
    static func forEachToken(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
            let token = trimmingBlanks(value, start..<end)
            if !token.isEmpty { body(UnsafeRawBufferPointer(rebasing: value[token])) }
            start = end + 1
        }
    }

    /// `range` of `bytes` without the blanks (spaces and tabs) at its start and end.
    static func trimmingBlanks(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return start..<end
    }

    /// RFC 9110 OWS: a space or a tab.
    static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    /// A byte a field value may hold: no control byte but tab (obs-text above 0x7F is allowed).
    static func isValueByte(_ byte: UInt8) -> Bool { (byte >= 0x20 || byte == UInt8(ascii: "\t")) && byte != 0x7F }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// RFC 9110 `tchar`: `!#$%&'*+-.^_`|~`, digits and letters, as one bit per byte below 128.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        // Bits 33–63: ! # $ % & ' * + - . and 0–9. Bits 64–127: A–Z ^ _ ` a–z | ~.
        let low: UInt64 = 0x03FF_6CFA_0000_0000
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        return byte < 64 ? (low >> UInt64(byte)) & 1 == 1 : byte < 128 && (high >> UInt64(byte - 64)) & 1 == 1
    }
}
