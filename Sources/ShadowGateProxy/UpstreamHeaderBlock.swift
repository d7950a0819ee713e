import NIOCore
import NIOHTTP1

/// The header lines of an upstream's response head, kept as the bytes that arrived.
///
/// Why bytes: an answer's headers are only copied on to the client (``ClientHeaderLines``) or not
/// read at all (the shadow's); making each name and value a `String` in an `HTTPHeaders` was a
/// measurable share of every request (issue 14's profile). ``headers`` builds them when asked.
///
/// Holds only lines ``UpstreamResponseParser`` accepted: a token name directly followed by `:`, a
/// value without control bytes but tab, each line ended by CRLF or LF; no status line, no empty line.
struct UpstreamHeaderBlock {
    var bytes: ByteBuffer

    init(validatedLines bytes: ByteBuffer) {
        self.bytes = bytes
    }

    /// The lines of `headers`, CRLF-ended, for responses made from a head (tests, other protocols).
    init(_ headers: HTTPHeaders) {
        var bytes = ByteBuffer()
        for (name, value) in headers { bytes.writeHeaderLine(name, value) }
        self.bytes = bytes
    }

    /// Calls `body` with each field's name and its value (trimmed of spaces and tabs), in order.
    func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        forEachLine { name, value, _, _ in body(name, value) }
    }

    /// Calls `body` with each field's name, its value (trimmed), its whole line with the line end,
    /// and where that line is among the block's readable bytes.
    func forEachLine(
        _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ line: UnsafeRawBufferPointer, _ at: Range<Int>) -> Void
    ) {
        bytes.withUnsafeReadableBytes { all in
            var position = 0
            while position < all.count {
                let lf = HTTP1Syntax.firstLF(all, from: position) ?? all.count
                let end = lf > position && all[lf - 1] == UInt8(ascii: "\r") ? lf - 1 : lf
                let content = UnsafeRawBufferPointer(rebasing: all[position..<end])
                if let colon = content.firstIndex(of: UInt8(ascii: ":")) {
                    let (name, value) = HTTP1Syntax.split(content, colon: colon)
                    let whole = position..<min(lf + 1, all.count)
                    body(name, value, UnsafeRawBufferPointer(rebasing: all[whole]), whole)
                }
                position = lf + 1
            }
        }
    }

    /// The fields as `HTTPHeaders`, in order.
    var headers: HTTPHeaders {
        var fields: [(String, String)] = []
        forEachField { name, value in
            fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return HTTPHeaders(fields)
    }
}
