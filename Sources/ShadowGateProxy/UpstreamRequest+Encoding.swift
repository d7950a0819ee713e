import NIOCore
import NIOHTTP1

extension UpstreamRequest {
    /// Bodies up to this size are copied behind the head so the request is one buffer; larger ones
    /// are written as a second buffer (the same `writev`) instead of being copied.
    static let copiedBodyLimit = 16 * 1024

    /// The request line and header lines as HTTP/1.1 bytes, ending with the empty line, followed by
    /// the body when it is at most ``copiedBodyLimit`` bytes (`bodyIncluded`).
    ///
    /// The headers are written as they are: the client's were validated by the server-side parser,
    /// and the ones the gateway adds (request id, length, host) are its own.
    func encodedHead(allocator: ByteBufferAllocator) -> (bytes: ByteBuffer, bodyIncluded: Bool) {
        let bodyBytes = body?.readableBytes ?? 0
        let includeBody = bodyBytes <= Self.copiedBodyLimit
        let method = head.method.rawValue
        var size = method.utf8.count + head.uri.utf8.count + 13
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        var buffer = allocator.buffer(capacity: size + 2 + (includeBody ? bodyBytes : 0))
        buffer.writeString(method)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.uri)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        for (name, value) in head.headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        if includeBody, var body, body.readableBytes > 0 { buffer.writeBuffer(&body) }
        return (buffer, includeBody)
    }
}
