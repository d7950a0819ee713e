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
        var lines = HTTP1Syntax.LineCursor(bytes: bytes)
        guard let status = lines.next(), let statusParts = statusLine(bytes, status) else {
            return .failure(.malformed("bad status line"))
        }
        let (minor, code, reason) = statusParts
        let fields: HTTP1Syntax.Fields
        switch HTTP1Syntax.readFields(bytes, lines: &lines) {
        case .success(let read): fields = read
        case .failure(let error): return .failure(.malformed(error.reason))
        }
        let keepAlive = minor >= 1 ? !fields.close : fields.keepAliveToken && !fields.close
        return .success(Head(
            version: HTTPVersion(major: 1, minor: minor), status: HTTPResponseStatus(statusCode: code, reasonPhrase: reason),
            fields: fields.range, keepAlive: keepAlive, contentLength: fields.contentLength,
            transferEncoding: fields.transferEncoding, chunked: fields.chunked))
    }

    /// `HTTP/1.x NNN[ reason]`: the minor version, the code and the reason.
    private static func statusLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (Int, Int, String)? {
        let s = line.lowerBound
        guard line.count >= 12,
              bytes[s] == UInt8(ascii: "H"), bytes[s + 1] == UInt8(ascii: "T"), bytes[s + 2] == UInt8(ascii: "T"),
              bytes[s + 3] == UInt8(ascii: "P"), bytes[s + 4] == UInt8(ascii: "/"), bytes[s + 5] == UInt8(ascii: "1"),
              bytes[s + 6] == UInt8(ascii: "."), HTTP1Syntax.isDigit(bytes[s + 7]), bytes[s + 8] == UInt8(ascii: " "),
              HTTP1Syntax.isDigit(bytes[s + 9]), HTTP1Syntax.isDigit(bytes[s + 10]), HTTP1Syntax.isDigit(bytes[s + 11])
        else { return nil }
        let minor = Int(bytes[s + 7] - UInt8(ascii: "0"))
        let code = Int(bytes[s + 9] - UInt8(ascii: "0")) * 100 + Int(bytes[s + 10] - UInt8(ascii: "0")) * 10
            + Int(bytes[s + 11] - UInt8(ascii: "0"))
        guard code >= 100 else { return nil }
        var reason = ""
        if line.count > 12 {
            guard bytes[s + 12] == UInt8(ascii: " ") else { return nil }
            let text = bytes[(s + 13)..<line.upperBound]
            if text.contains(where: { !HTTP1Syntax.isValueByte($0) }) { return nil }
            reason = String(decoding: text, as: UTF8.self)
        }
        return (minor, code, reason)
    }

}
