import NIOCore
import NIOHTTP1

extension UpstreamRequest {
    /// The request line, the shared header lines, `host` and the empty line as HTTP/1.1 bytes,
    /// followed by the body when it is at most ``HTTP1Message/copiedBodyLimit`` bytes (`bodyIncluded`).
    ///
    /// The header lines are copied as they are: the client's were validated by the server-side
    /// parser, and the ones the gateway adds (request id, length, host) are its own.
    func encodedHead(allocator: ByteBufferAllocator) -> (bytes: ByteBuffer, bodyIncluded: Bool) {
        let bodyBytes = body?.readableBytes ?? 0
        let includeBody = bodyBytes <= HTTP1Message.copiedBodyLimit
        let method = method.rawValue
        let size = method.utf8.count + uri.utf8.count + 13 + headerLines.readableBytes + host.utf8.count + 10
        var buffer = allocator.buffer(capacity: size + (includeBody ? bodyBytes : 0))
        buffer.writeJoined(method, " ", uri, " HTTP/1.1\r\n")
        buffer.writeImmutableBuffer(headerLines)
        buffer.writeJoined("host", ": ", host, "\r\n\r\n")
        if includeBody, let body, body.readableBytes > 0 { buffer.writeImmutableBuffer(body) }
        return (buffer, includeBody)
    }
}
