import NIOCore
import NIOHTTP1

/// An HTTP/1 answer as bytes, written by ``GatewayConnectionHandler`` itself: the HTTP/1 pipeline has
/// no NIO `HTTPResponseEncoder`, whose three writes per answer (head, body, end) and header framing
/// pass were a measurable share of every request (issue 14's profile).
///
/// Framing is NIO's encoder's, so clients see the same bytes:
/// - 1xx, 204, 304 and answers to CONNECT have no body and no `content-length`/`transfer-encoding`;
/// - answers to HEAD keep their headers and leave the body out;
/// - otherwise a `content-length` is kept (and any `transfer-encoding` dropped); without one an
///   HTTP/1.1 body is sent chunked, an HTTP/1.0 one until the close.
/// `connection`, when given, replaces the head's `Connection` headers (it is written last).
enum ClientResponseEncoding {
    /// The head's bytes, with the body in them when it is at most ``HTTP1Message/copiedBodyLimit`` and not chunked;
    /// `body` is what still has to be written after them (nil when nothing).
    /// `forwarded` lines come first, then `head.headers`, under the same rules.
    static func encode(
        _ head: HTTPResponseHead, body: ByteBuffer, forwarded: GatewayResponse.ForwardedHeaders? = nil,
        requestMethod: HTTPMethod?, connection: StaticString?, allocator: ByteBufferAllocator
    ) -> (head: ByteBuffer, body: ByteBuffer?) {
        let noBody = requestMethod == .CONNECT || !head.status.mayHaveResponseBody
        // A HEAD answer keeps its framing headers, but its body is not sent.
        let bodyWritten = !noBody && requestMethod != .HEAD
        let copied = bodyWritten && body.readableBytes <= HTTP1Message.copiedBodyLimit
        var buffer = allocator.buffer(capacity: 256 + (copied ? body.readableBytes : 0))
        writeStatusLine(head, to: &buffer)
        var sawLength = false
        if let forwarded {
            // No `connection` or `transfer-encoding` among them: both are hop-by-hop.
            sawLength = ClientHeaderLines.write(
                from: forwarded.upstream, bodyLength: forwarded.bodyLength, noBody: noBody, requestID: forwarded.requestID,
                servedBy: forwarded.servedBy, to: &buffer)
        }
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 10 where connection != nil && HTTPHeaders.equalsLowercase(name, "connection"):
                continue
            case 14 where HTTPHeaders.equalsLowercase(name, "content-length"):
                if noBody { continue }
                sawLength = true
            case 17 where HTTPHeaders.equalsLowercase(name, "transfer-encoding"):
                // Dropped beside a length (or without a body), set again below when chunking.
                continue
            default:
                break
            }
            buffer.writeHeaderLine(name, value)
        }
        let chunked = !noBody && !sawLength && head.version.major == 1 && head.version.minor >= 1
        if chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        if let connection {
            buffer.writeStaticString("connection: ")
            buffer.writeStaticString(connection)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        guard bodyWritten else { return (buffer, nil) }
        if chunked {
            if body.readableBytes > 0 {
                buffer.writeString(String(body.readableBytes, radix: 16))
                buffer.writeStaticString("\r\n")
                buffer.writeImmutableBuffer(body)
                buffer.writeStaticString("\r\n")
            }
            buffer.writeStaticString("0\r\n\r\n")
            return (buffer, nil)
        }
        guard copied else { return (buffer, body) }
        buffer.writeImmutableBuffer(body)
        return (buffer, nil)
    }

    /// `HTTP/1.1 100 Continue` and the empty line, in the request's version.
    static func continueHead(version: HTTPVersion, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 32)
        writeStatusLine(HTTPResponseHead(version: version, status: .continue), to: &buffer)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    private static func writeStatusLine(_ head: HTTPResponseHead, to buffer: inout ByteBuffer) {
        switch (head.version.major, head.version.minor) {
        case (1, 1): buffer.writeStaticString("HTTP/1.1 ")
        case (1, 0): buffer.writeStaticString("HTTP/1.0 ")
        default:
            buffer.writeStaticString("HTTP/")
            buffer.writeString(String(head.version.major))
            buffer.writeStaticString(".")
            buffer.writeString(String(head.version.minor))
            buffer.writeStaticString(" ")
        }
        buffer.writeJoined(String(head.status.code), " ", head.status.reasonPhrase, "\r\n")
    }
}
