import NIOCore
import NIOHTTP1

extension UpstreamResponseParser {
    /// A response head and what framing needs from its headers.
    struct Head {
        var version: HTTPVersion
        var status: HTTPResponseStatus
        /// Where the header lines are in the head's bytes (after the status line, before the empty line).
        var fields: Range<Int>
        var keepAlive: Bool
        var contentLength: Int?
        var transferEncoding: Bool
        var chunked: Bool
    }

    /// Reads a status line and header lines (each ended by CRLF or LF; `bytes` ends with the empty line).
    ///
    /// Strict where a proxy must be (RFC 9112): the status line is `HTTP/1.x NNN[ reason]`; a field
    /// name is a non-empty token followed directly by `:`; values have no control bytes but tab;
    /// obsolete line folding and conflicting `Content-Length` values are refused.
    static func readHead(_ bytes: UnsafeRawBufferPointer) -> Result<Head, Failure> {
        var lines = LineCursor(bytes: bytes)
        guard let status = lines.next(), let statusParts = statusLine(bytes, status) else {
            return .failure(.malformed("bad status line"))
        }
        let (minor, code, reason) = statusParts
        let fieldsStart = lines.position
        var fieldsEnd = fieldsStart
        var contentLength: Int?
        var transferEncoding = false
        var chunked = false
        var close = false
        var keepAliveToken = false
        while let line = lines.next(), !line.isEmpty {
            let first = bytes[line.lowerBound]
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                return .failure(.malformed("obsolete line folding"))
            }
            var colon = line.lowerBound
            while colon < line.upperBound, bytes[colon] != UInt8(ascii: ":") { colon += 1 }
            guard colon < line.upperBound, colon > line.lowerBound else {
                return .failure(.malformed("bad header line"))
            }
            for i in line.lowerBound..<colon where !isTokenByte(bytes[i]) {
                return .failure(.malformed("bad header name"))
            }
            var start = colon + 1
            var end = line.upperBound
            while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
            while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
            for i in start..<end {
                let byte = bytes[i]
                if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
                    return .failure(.malformed("bad header value"))
                }
            }
            let name = UnsafeRawBufferPointer(rebasing: bytes[line.lowerBound..<colon])
            let value = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            switch name.count {
            case 10 where name.equalsLowercaseASCII("connection"):
                forEachToken(value) { token in
                    if token.equalsLowercaseASCII("close") { close = true }
                    if token.equalsLowercaseASCII("keep-alive") { keepAliveToken = true }
                }
            case 14 where name.equalsLowercaseASCII("content-length"):
                guard let length = decimal(value), contentLength == nil || contentLength == length else {
                    return .failure(.malformed("bad content-length"))
                }
                contentLength = length
            case 17 where name.equalsLowercaseASCII("transfer-encoding"):
                transferEncoding = true
                // Only the last coding matters: chunked must be last (RFC 9112 §6.3).
                chunked = false
                forEachToken(value) { token in chunked = token.equalsLowercaseASCII("chunked") }
            default:
                break
            }
            fieldsEnd = lines.position
        }
        let keepAlive = minor >= 1 ? !close : keepAliveToken && !close
        return .success(Head(
            version: HTTPVersion(major: 1, minor: minor), status: HTTPResponseStatus(statusCode: code, reasonPhrase: reason),
            fields: fieldsStart..<fieldsEnd, keepAlive: keepAlive, contentLength: contentLength,
                             transferEncoding: transferEncoding, chunked: chunked))
    }

    /// `HTTP/1.x NNN[ reason]`: the minor version, the code and the reason.
    private static func statusLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (Int, Int, String)? {
        let s = line.lowerBound
        guard line.count >= 12,
              bytes[s] == UInt8(ascii: "H"), bytes[s + 1] == UInt8(ascii: "T"), bytes[s + 2] == UInt8(ascii: "T"),
              bytes[s + 3] == UInt8(ascii: "P"), bytes[s + 4] == UInt8(ascii: "/"), bytes[s + 5] == UInt8(ascii: "1"),
              bytes[s + 6] == UInt8(ascii: "."), isDigit(bytes[s + 7]), bytes[s + 8] == UInt8(ascii: " "),
              isDigit(bytes[s + 9]), isDigit(bytes[s + 10]), isDigit(bytes[s + 11])
        else { return nil }
        let minor = Int(bytes[s + 7] - UInt8(ascii: "0"))
        let code = Int(bytes[s + 9] - UInt8(ascii: "0")) * 100 + Int(bytes[s + 10] - UInt8(ascii: "0")) * 10
            + Int(bytes[s + 11] - UInt8(ascii: "0"))
        guard code >= 100 else { return nil }
        var reason = ""
        if line.count > 12 {
            guard bytes[s + 12] == UInt8(ascii: " ") else { return nil }
            let text = bytes[(s + 13)..<line.upperBound]
            if text.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F }) { return nil }
            reason = String(decoding: text, as: UTF8.self)
        }
        return (minor, code, reason)
    }

    /// Lines of a head: ranges without their CRLF or LF.
    private struct LineCursor {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func next() -> Range<Int>? {
            var lf = position
            while lf < bytes.count, bytes[lf] != UInt8(ascii: "\n") { lf += 1 }
            guard lf < bytes.count else { return nil }
            let end = lf > position && bytes[lf - 1] == UInt8(ascii: "\r") ? lf - 1 : lf
            defer { position = lf + 1 }
            return position..<end
        }
    }

    /// A decimal `Content-Length` (at most 18 digits, nothing else).
    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Calls `body` with each comma-separated token of a list value, trimmed of spaces and tabs.
    private static func forEachToken(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
            var a = start, b = end
            while a < b, value[a] == UInt8(ascii: " ") || value[a] == UInt8(ascii: "\t") { a += 1 }
            while b > a, value[b - 1] == UInt8(ascii: " ") || value[b - 1] == UInt8(ascii: "\t") { b -= 1 }
            if a < b { body(UnsafeRawBufferPointer(rebasing: value[a..<b])) }
            start = end + 1
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
