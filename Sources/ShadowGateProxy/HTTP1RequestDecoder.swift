import NIOCore
import NIOHTTP1

/// Frames HTTP/1.1 requests out of a client connection's bytes: a head as soon as it is whole,
/// then the body as it arrives, then the end (``HTTPServerRequestPart``, as NIO's decoder gives them).
///
/// Why not NIO's `HTTPRequestDecoder`: llhttp's callbacks (a call per header name and value piece,
/// a state machine per byte) cost more per request than framing the bytes here (issue 14's profile).
///
/// Strict, and never more lenient than llhttp about framing (RFC 9112 §6.3), so no request is cut
/// differently here than by NIO's parser (`HTTP1RequestDecoderTests` and the `request` fuzz target
/// compare the two):
/// - the request line is `method SP request-target SP HTTP/1.1` (or `HTTP/1.0`) with single spaces;
///   the method one NIO's `HTTPMethod` names (llhttp's list), the target visible ASCII;
/// - fields as ``HTTP1Syntax`` reads them (no obsolete folding, no control bytes), values without
///   their leading and trailing blanks; at most one `Content-Length`;
/// - `Transfer-Encoding` frames the body only when its last coding is `chunked`; any other
///   `Transfer-Encoding`, one beside a `Content-Length`, or one in an HTTP/1.0 request is refused;
/// - without either, there is no body;
/// - every line ends with CRLF (llhttp refuses a bare LF); chunk sizes have no blanks after them,
///   extensions no control bytes; trailer fields are checked like header fields, `Content-Length` and
///   `Transfer-Encoding` refused among them; extensions and trailers are then dropped;
/// - `Transfer-Encoding` naming `chunked` anywhere but last is refused;
/// - the target is in origin (`/…`), absolute (`scheme://…`) or asterisk form, or any for CONNECT.
/// A head over 80 KiB (llhttp's limit) or a chunk or trailer line over 8 KiB is refused.
///
/// Failures are `HTTPParserError`s, as from NIO's decoder: the connection handler answers 400 with
/// a plain sentence and logs the detail. After a failure the decoder is not used again (the client
/// connection's ``HTTP1ClientReader`` drops later bytes; `ByteToMessageHandler` reports each later
/// read as an error instead of decoding it).
public struct HTTP1RequestDecoder: ByteToMessageDecoder {
    public typealias InboundOut = HTTPServerRequestPart

    public static let maxHeadBytes = 80 * 1024

    private enum State {
        case head
        case fixed(remaining: Int)
        /// Framed by ``chunkedBody``.
        case chunked
    }

    private var state = State.head
    private var chunkedBody = HTTP1ChunkedBody(rules: .request)
    /// While a head is incomplete: how many of its bytes are whole lines already checked, so that
    /// a head arriving in many reads is checked once and refused at its first bad line, as llhttp does.
    private var checkedHeadBytes = 0
    /// Whether those checked lines had a `Content-Length`.
    private var sawContentLength = false
    /// How far the line still arriving was checked past its first KiB.
    private var checkedTailBytes = 0

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try decode(&buffer) { context.fireChannelRead(NIOAny($0)) }
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(&buffer, { context.fireChannelRead(NIOAny($0)) }) == .continue {}
        // Input ended inside a message: NIO's decoder reports that too (only at EOF, not when removed).
        if !seenEOF { return .needMoreData }
        if case .head = state, buffer.readableBytes == 0 { return .needMoreData }
        throw HTTPParserError.invalidEOFState
    }

    /// One step of framing: hands `emit` what `buffer` completes (a head, a body piece, an end) and
    /// says whether another step may find more. ``HTTP1ClientReader`` calls it directly, without a
    /// pipeline hop per part.
    mutating func decode(_ buffer: inout ByteBuffer, _ emit: (HTTPServerRequestPart) -> Void) throws -> DecodingState {
        switch state {
        case .head:
            // Empty lines before a request line are ignored (RFC 9112 §2.2), as llhttp does.
            while buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                buffer.moveReaderIndex(forwardBy: 2)
            }
            let searchFrom = max(0, checkedHeadBytes - 1)
            guard let headLength = buffer.withUnsafeReadableBytes({ HTTP1Syntax.headLength($0, from: searchFrom) }) else {
                if buffer.readableBytes > Self.maxHeadBytes { throw HTTPParserError.headerOverflow }
                try checkIncompleteHead(buffer)
                return .needMoreData
            }
            checkedHeadBytes = 0
            sawContentLength = false
            checkedTailBytes = 0
            if headLength > Self.maxHeadBytes { throw HTTPParserError.headerOverflow }
            let (head, framing) = try buffer.withUnsafeReadableBytes { bytes in
                try Self.readHead(UnsafeRawBufferPointer(rebasing: bytes[..<headLength]))
            }
            buffer.moveReaderIndex(forwardBy: headLength)
            emit(.head(head))
            switch framing {
            case .none:
                emit(.end(nil))
            case .length(let length):
                state = .fixed(remaining: length)
            case .chunked:
                chunkedBody = HTTP1ChunkedBody(rules: .request)
                state = .chunked
            }
            return .continue
        case .fixed(let remaining):
            let n = min(remaining, buffer.readableBytes)
            guard n > 0 else { return .needMoreData }
            emit(.body(buffer.readSlice(length: n)!))
            if n == remaining {
                state = .head
                emit(.end(nil))
            } else {
                state = .fixed(remaining: remaining - n)
            }
            return .continue
        case .chunked:
            let event: HTTP1ChunkedBody.Event?
            do {
                event = try chunkedBody.next(&buffer)
            } catch {
                throw Self.parserError(error)
            }
            switch event {
            case .data(let piece):
                emit(.body(piece))
            case .end:
                state = .head
                emit(.end(nil))
            case nil:
                // A trailer still arriving is checked as a head's field line is.
                if chunkedBody.isReadingTrailers { try Self.partialLine(buffer, Self.fieldLineStart) }
                return .needMoreData
            }
            return .continue
        }
    }

    /// What NIO's decoder (llhttp) reports for the same chunked-body fault.
    private static func parserError(_ failure: HTTP1ChunkedBody.Failure) -> HTTPParserError {
        switch failure {
        case .badChunkSize, .missingChunkEnd, .chunkTooLarge: .invalidChunkSize
        case .lineTooLong: .headerOverflow
        case .bareLF: .lfExpected
        case .badTrailer: .invalidHeaderToken
        }
    }

    /// Checks the lines of an incomplete head that have arrived whole, and the request line's start
    /// while it is still short: garbage is refused as it arrives, not after the header timeout.
    private mutating func checkIncompleteHead(_ buffer: ByteBuffer) throws {
        checkedHeadBytes = try buffer.withUnsafeReadableBytes { bytes -> Int in
            var position = checkedHeadBytes
            while let lf = HTTP1Syntax.firstLF(bytes, from: position) {
                guard lf > 0, bytes[lf - 1] == UInt8(ascii: "\r") else { throw HTTPParserError.lfExpected }
                if position == 0 {
                    _ = try Self.requestLine(bytes, 0..<(lf - 1))
                } else {
                    guard case .success(let (name, value)) = HTTP1Syntax.field(UnsafeRawBufferPointer(rebasing: bytes[position..<(lf - 1)])) else {
                        throw HTTPParserError.invalidHeaderToken
                    }
                    // llhttp refuses a bad or second length at that line, not at the head's end.
                    if name.count == 14, name.equalsLowercaseASCII("content-length") {
                        guard HTTP1Syntax.decimal(value) != nil else { throw HTTPParserError.invalidContentLength }
                        guard !sawContentLength else { throw HTTPParserError.unexpectedContentLength }
                        sawContentLength = true
                    }
                }
                position = lf + 1
            }
            // A line still arriving: its first KiB is checked (re-checking it on every read stays bounded).
            let rest = UnsafeRawBufferPointer(rebasing: bytes[position..<min(bytes.count, position + 1024)])
            if position == 0 { try Self.requestLineStart(rest) } else { try Self.fieldLineStart(rest) }
            // Past that KiB, each byte once: no control byte (a tab only in a field), no CR but a
            // last one whose LF is still to come. llhttp refuses those as they arrive.
            var index = max(position + 1024, checkedTailBytes - 1)
            while index < bytes.count {
                let byte = bytes[index]
                let allowed = byte == UInt8(ascii: "\r") ? index == bytes.count - 1
                    : position > 0 ? HTTP1Syntax.isValueByte(byte) : byte >= 0x20 && byte != 0x7F
                guard allowed else { throw position == 0 ? HTTPParserError.invalidURL : HTTPParserError.invalidHeaderToken }
                index += 1
            }
            checkedTailBytes = max(checkedTailBytes, index)
            return position
        }
    }

    /// The start of a request line whose end has not arrived: what is there must be able to begin one.
    private static func requestLineStart(_ bytes: UnsafeRawBufferPointer) throws {
        let n = bytes.count
        // Half of an empty line before the request line (skipped once its LF arrives).
        if n == 1, bytes[0] == UInt8(ascii: "\r") { return }
        var i = 0
        while i < n, HTTP1Syntax.isTokenByte(bytes[i]) { i += 1 }
        if i == n {
            // llhttp refuses at the first byte no method it knows has there.
            guard knownMethods.contains(where: { $0.name.starts(with: bytes) }) else { throw HTTPParserError.invalidMethod }
            return
        }
        guard i > 0, bytes[i] == UInt8(ascii: " ") else { throw HTTPParserError.invalidMethod }
        let method = try knownMethod(UnsafeRawBufferPointer(rebasing: bytes[..<i]))
        i += 1
        let targetStart = i
        while i < n, bytes[i] > 0x20, bytes[i] < 0x7F { i += 1 }
        if i == n { return }
        guard i > targetStart, bytes[i] == UInt8(ascii: " "),
              isTargetForm(UnsafeRawBufferPointer(rebasing: bytes[targetStart..<i]), connect: method == .CONNECT)
        else { throw HTTPParserError.invalidURL }
        i += 1
        for expected in "HTTP/1.".utf8 {
            if i == n { return }
            guard bytes[i] == expected else { throw HTTPParserError.invalidVersion }
            i += 1
        }
        if i == n { return }
        guard bytes[i] == UInt8(ascii: "0") || bytes[i] == UInt8(ascii: "1") else { throw HTTPParserError.invalidVersion }
        i += 1
        if i == n { return }
        guard bytes[i] == UInt8(ascii: "\r"), i + 1 == n else { throw HTTPParserError.invalidVersion }
    }

    /// Checks the first KiB of a trailer line whose end has not arrived.
    private static func partialLine(_ buffer: ByteBuffer, _ checkStart: (UnsafeRawBufferPointer) throws -> Void) throws {
        try buffer.withUnsafeReadableBytes { try checkStart(UnsafeRawBufferPointer(rebasing: $0[..<min($0.count, 1024)])) }
    }

    /// The start of a field line whose end has not arrived: a token name, then after `:` a value
    /// without control bytes but tab (a CR may end what arrived, its LF still to come).
    private static func fieldLineStart(_ bytes: UnsafeRawBufferPointer) throws {
        let n = bytes.count
        guard n > 0 else { return }
        if n == 1, bytes[0] == UInt8(ascii: "\r") { return }  // the empty line that ends the head
        var i = 0
        while i < n, HTTP1Syntax.isTokenByte(bytes[i]) { i += 1 }
        if i == n { return }
        guard i > 0, bytes[i] == UInt8(ascii: ":") else { throw HTTPParserError.invalidHeaderToken }
        if i == 14, UnsafeRawBufferPointer(rebasing: bytes[..<i]).equalsLowercaseASCII("content-length") {
            try contentLengthStart(UnsafeRawBufferPointer(rebasing: bytes[(i + 1)...]))
            return
        }
        i += 1
        while i < n {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\r"), i == n - 1 { return }
            if !HTTP1Syntax.isValueByte(byte) { throw HTTPParserError.invalidHeaderToken }
            i += 1
        }
    }

    /// The start of a `Content-Length` value whose line end has not arrived: blanks, digits, blanks
    /// (a CR may end what arrived). llhttp refuses anything else at once.
    private static func contentLengthStart(_ value: UnsafeRawBufferPointer) throws {
        let n = value.count
        var i = 0
        while i < n, HTTP1Syntax.isBlank(value[i]) { i += 1 }
        while i < n, HTTP1Syntax.isDigit(value[i]) { i += 1 }
        while i < n, HTTP1Syntax.isBlank(value[i]) { i += 1 }
        if i == n || (i == n - 1 && value[i] == UInt8(ascii: "\r")) { return }
        throw HTTPParserError.invalidContentLength
    }

    // MARK: Byte level

    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
    }

    /// Reads a request line and field lines (`bytes` ends with the empty line).
    static func readHead(_ bytes: UnsafeRawBufferPointer) throws -> (HTTPRequestHead, Framing) {
        var lines = HTTP1Syntax.LineCursor(bytes: bytes)
        guard let requestLine = lines.next() else { throw HTTPParserError.invalidConstant }
        let (method, uri, version) = try Self.requestLine(bytes, requestLine)
        var headers: [(String, String)] = []
        headers.reserveCapacity(16)
        let fields: HTTP1Syntax.Fields
        switch HTTP1Syntax.readFields(bytes, lines: &lines, { name, value in
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }) {
        case .success(let read): fields = read
        case .failure(.badContentLength): throw HTTPParserError.invalidContentLength
        case .failure: throw HTTPParserError.invalidHeaderToken
        }
        // Every line ends with CRLF: llhttp refuses a bare LF, so a head it would cut elsewhere is refused.
        if lines.sawBareLF { throw HTTPParserError.lfExpected }
        // llhttp refuses a repeated length even when equal; so does this decoder.
        if fields.contentLengthFields > 1 { throw HTTPParserError.unexpectedContentLength }
        let framing: Framing
        if fields.transferEncoding {
            // RFC 9112 §6.1: a request whose transfer coding is not chunked last cannot be framed; one
            // with a length beside it is how requests are smuggled.
            guard fields.chunked, !fields.chunkedNotLast, fields.contentLength == nil, version.minor >= 1 else {
                throw HTTPParserError.unexpectedContentLength
            }
            framing = .chunked
        } else if let length = fields.contentLength, length > 0 {
            framing = .length(length)
        } else {
            framing = .none
        }
        return (HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers)), framing)
    }

    /// `method SP request-target SP HTTP/1.x`.
    private static func requestLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws -> (HTTPMethod, String, HTTPVersion) {
        var i = line.lowerBound
        while i < line.upperBound, HTTP1Syntax.isTokenByte(bytes[i]) { i += 1 }
        guard i > line.lowerBound, i < line.upperBound, bytes[i] == UInt8(ascii: " ") else { throw HTTPParserError.invalidMethod }
        let methodEnd = i
        i += 1
        let targetStart = i
        while i < line.upperBound, bytes[i] > 0x20, bytes[i] < 0x7F { i += 1 }
        guard i > targetStart, i < line.upperBound, bytes[i] == UInt8(ascii: " ") else { throw HTTPParserError.invalidURL }
        let targetEnd = i

        i += 1
        guard line.upperBound - i == 8,
              bytes[i] == UInt8(ascii: "H"), bytes[i + 1] == UInt8(ascii: "T"), bytes[i + 2] == UInt8(ascii: "T"),
              bytes[i + 3] == UInt8(ascii: "P"), bytes[i + 4] == UInt8(ascii: "/"), bytes[i + 5] == UInt8(ascii: "1"),
              bytes[i + 6] == UInt8(ascii: "."), bytes[i + 7] == UInt8(ascii: "0") || bytes[i + 7] == UInt8(ascii: "1")
        else { throw HTTPParserError.invalidVersion }
        let method = try knownMethod(UnsafeRawBufferPointer(rebasing: bytes[line.lowerBound..<methodEnd]))
        guard Self.isTargetForm(UnsafeRawBufferPointer(rebasing: bytes[targetStart..<targetEnd]), connect: method == .CONNECT) else {
            throw HTTPParserError.invalidURL
        }
        let uri = String(decoding: bytes[targetStart..<targetEnd], as: UTF8.self)
        return (method, uri, HTTPVersion(major: 1, minor: Int(bytes[i + 7] - UInt8(ascii: "0"))))
    }

    /// The methods llhttp knows, as sent (NIO names them all; it spells `M-SEARCH` without the dash).
    /// The common ones first: the lookup compares bytes in this order.
    private static let knownMethods: [(name: [UInt8], method: HTTPMethod)] = [
        HTTPMethod.POST, .GET, .PUT, .HEAD, .DELETE, .OPTIONS, .PATCH, .CONNECT, .TRACE, .ACL, .COPY, .LOCK, .MOVE,
        .BIND, .LINK, .MKCOL, .MERGE, .PURGE, .NOTIFY, .SEARCH, .UNLOCK, .REBIND, .UNBIND, .REPORT, .UNLINK, .PROPFIND,
        .CHECKOUT, .PROPPATCH, .SUBSCRIBE, .MKCALENDAR, .MKACTIVITY, .UNSUBSCRIBE, .SOURCE,
    ].map { (Array($0.rawValue.utf8), $0) } + [(Array("M-SEARCH".utf8), .MSEARCH)]

    /// Only the methods llhttp knows; others are refused as there.
    private static func knownMethod(_ name: UnsafeRawBufferPointer) throws -> HTTPMethod {
        for known in knownMethods where known.name.count == name.count && known.name.elementsEqual(name) {
            return known.method
        }
        throw HTTPParserError.invalidMethod
    }

    /// RFC 9112 §3.2: origin form (`/…`), absolute form (`scheme://…`), asterisk form (`*`), or for
    /// CONNECT the authority form (any visible bytes here; the gateway refuses CONNECT anyway).
    private static func isTargetForm(_ target: UnsafeRawBufferPointer, connect: Bool) -> Bool {
        if connect || target[0] == UInt8(ascii: "/") { return true }
        if target.count == 1 { return target[0] == UInt8(ascii: "*") }
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://"
        var i = 0
        while i < target.count {
            let byte = target[i] | 0x20
            let isLetter = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
            guard isLetter || (i > 0 && (HTTP1Syntax.isDigit(target[i]) || target[i] == UInt8(ascii: "+")
                                         || target[i] == UInt8(ascii: "-") || target[i] == UInt8(ascii: "."))) else { break }
            i += 1
        }
        return i > 0 && target.count >= i + 3 && target[i] == UInt8(ascii: ":") && target[i + 1] == UInt8(ascii: "/")
            && target[i + 2] == UInt8(ascii: "/")
    }
}
