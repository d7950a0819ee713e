import NIOCore
import NIOHTTP1

/// Frames HTTP/1.1 responses out of an upstream connection's bytes, one exchange at a time, as a
/// value: bytes in, a whole response (head and complete body) out.
///
/// Why not NIO's `HTTPResponseDecoder`: the gateway buffers whole responses, and llhttp's callbacks,
/// a `channelRead` (with its dynamic cast) per head, body part and end, cost more per request than
/// framing the bytes here (issue 14's profile).
///
/// Framing (RFC 9112 §6.3): no body for an answer to HEAD and for 1xx, 204 and 304; else
/// `Transfer-Encoding` (chunked when its last coding is `chunked`, otherwise read until close),
/// else `Content-Length`, else read until close. Informational answers (1xx but 101) are skipped.
/// Chunk extensions and trailer fields are read and dropped. A `Content-Length` body that arrived
/// with its head is a slice of the bytes read, not a copy.
///
/// Failures: malformed input (status line, header line, obsolete line folding, a bad or conflicting
/// `Content-Length`, a bad chunk size, a head over `maxHeadBytes`) throws `.malformed` with a
/// short reason for the operator's log; a body over the exchange's limit throws `.tooLarge`.
/// After either the connection must not be used again.
struct UpstreamResponseParser {
    enum Failure: Error, Equatable {
        case malformed(String)
        case tooLarge
    }

    /// A complete response, and whether the connection may carry another exchange.
    struct Parsed {
        var response: UpstreamResponse
        var keepAlive: Bool

        /// The response, moved out rather than copied.
        consuming func takeResponse() -> UpstreamResponse { response }
    }

    private enum State {
        /// No exchange: bytes now are unsolicited.
        case idle
        case head
        case fixed(remaining: Int)
        /// Framed by ``chunkedBody``.
        case chunked
        case untilClose
    }

    static let maxHeadBytes = 80 * 1024

    private var state = State.idle
    private var chunkedBody = HTTP1ChunkedBody(rules: .response)
    private var answersHEAD = false
    private var maxBodyBytes = 0
    /// The response being read, its body still to come.
    private var head: UpstreamResponse?
    private var keepAlive = true
    private var body: ByteBuffer?
    private var bodyBytes = 0

    /// True while a response is expected (between ``expectResponse(toHEAD:maxBodyBytes:)`` and its end).
    var isExpecting: Bool {
        if case .idle = state { return false }
        return true
    }

    /// A request was sent: the next bytes are its response.
    mutating func expectResponse(toHEAD: Bool, maxBodyBytes: Int) {
        state = .head
        answersHEAD = toHEAD
        self.maxBodyBytes = maxBodyBytes
        head = nil
        keepAlive = true
        body = nil
        bodyBytes = 0
    }

    /// Consumes what it can of `buffer`. Returns the response once it is complete (bytes after it
    /// stay in `buffer`), or `nil` when more bytes are needed.
    mutating func parse(_ buffer: inout ByteBuffer) throws(Failure) -> Parsed? {
        while true {
            switch state {
            case .idle:
                return nil
            case .head:
                guard let headLength = Self.headLength(buffer) else {
                    if buffer.readableBytes > Self.maxHeadBytes {
                        throw .malformed("response head larger than \(Self.maxHeadBytes) bytes")
                    }
                    return nil
                }
                if headLength > Self.maxHeadBytes {
                    throw .malformed("response head larger than \(Self.maxHeadBytes) bytes")
                }
                let parsed = try buffer.withUnsafeReadableBytes { bytes in
                    Self.readHead(UnsafeRawBufferPointer(rebasing: bytes[..<headLength]))
                }.get()
                let code = parsed.status.code
                if code >= 100, code < 200, code != 101 {  // the real answer follows
                    buffer.moveReaderIndex(forwardBy: headLength)
                    continue
                }
                // A slice of the bytes read, not a copy.
                let fields = buffer.getSlice(at: buffer.readerIndex + parsed.fields.lowerBound, length: parsed.fields.count)!
                buffer.moveReaderIndex(forwardBy: headLength)
                head = UpstreamResponse(
                    version: parsed.version, status: parsed.status, fields: UpstreamHeaderBlock(validatedLines: fields), body: ByteBuffer())
                keepAlive = parsed.keepAlive
                if answersHEAD || code < 200 || code == 204 || code == 304 {
                    if code == 101 { keepAlive = false }
                    return complete()
                }
                if parsed.transferEncoding {
                    // Both headers: the length is ignored and the connection not reused (RFC 9112 §6.3).
                    if parsed.contentLength != nil { keepAlive = false }
                    if parsed.chunked {
                        chunkedBody = HTTP1ChunkedBody(rules: .response)
                        state = .chunked
                    } else {
                        keepAlive = false
                        state = .untilClose
                    }
                } else if let length = parsed.contentLength {
                    if length > maxBodyBytes { throw .tooLarge }
                    if length == 0 { return complete() }
                    state = .fixed(remaining: length)
                } else {
                    keepAlive = false
                    state = .untilClose
                }
            case .fixed(let remaining):
                if body == nil, buffer.readableBytes >= remaining {
                    // The common case: the whole body came with the head.
                    body = buffer.readSlice(length: remaining)
                    return complete()
                }
                let n = min(remaining, buffer.readableBytes)
                guard n > 0 else { return nil }
                append(buffer.readSlice(length: n)!)
                if n == remaining { return complete() }
                state = .fixed(remaining: remaining - n)
            case .chunked:
                switch try nextChunkEvent(&buffer) {
                case .data(let piece): append(piece)
                case .end: return complete()
                case nil: return nil
                }
            case .untilClose:
                let n = buffer.readableBytes
                guard n > 0 else { return nil }
                if n > maxBodyBytes - bodyBytes { throw .tooLarge }
                append(buffer.readSlice(length: n)!)
                return nil
            }
        }
    }

    /// The connection's input ended: a body read until close is complete; any other response in
    /// progress is not (`nil`).
    mutating func inputEnded() -> Parsed? {
        guard case .untilClose = state else { return nil }
        return complete()
    }

    /// The chunked body's next event; a chunk that would take the body over its limit is refused
    /// from its size line, before its data is read.
    private mutating func nextChunkEvent(_ buffer: inout ByteBuffer) throws(Failure) -> HTTP1ChunkedBody.Event? {
        do {
            return try chunkedBody.next(&buffer, chunkLimit: maxBodyBytes - bodyBytes)
        } catch {
            switch error {
            case .chunkTooLarge: throw .tooLarge
            case .badChunkSize: throw .malformed("bad chunk size")
            case .missingChunkEnd: throw .malformed("chunk data longer than its size")
            case .lineTooLong: throw .malformed("chunk or trailer line longer than \(HTTP1ChunkedBody.maxLineBytes) bytes")
            case .bareLF, .badTrailer: throw .malformed("bad chunk or trailer line")  // request rules only
            }
        }
    }

    private mutating func append(_ part: ByteBuffer) {
        var part = part
        bodyBytes += part.readableBytes
        if body == nil { body = part } else { body!.writeBuffer(&part) }
    }

    private mutating func complete() -> Parsed {
        // Moved out, not copied: a copy would retain every part of the response once more.
        var response = head.take()!
        response.body = body.take() ?? ByteBuffer()
        let parsed = Parsed(response: response, keepAlive: keepAlive)
        state = .idle
        bodyBytes = 0
        return parsed
    }

    // MARK: Byte level

    /// Length of the head including its empty last line, when the buffer holds all of it.
    static func headLength(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { HTTP1Syntax.headLength($0) }
    }
}
