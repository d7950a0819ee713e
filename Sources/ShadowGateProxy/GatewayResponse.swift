import NIOCore
import NIOHTTP1

/// What the gateway writes back for one request.
struct GatewayResponse {
    var head: HTTPResponseHead
    var body: ByteBuffer
    /// A forwarded answer's headers, still the upstream's bytes: turned into the client's header lines
    /// (``ClientHeaderLines``) as the answer is written, before any in `head.headers`.
    var forwarded: ForwardedHeaders?

    init(head: HTTPResponseHead, body: ByteBuffer, forwarded: ForwardedHeaders? = nil) {
        self.head = head
        self.body = body
        self.forwarded = forwarded
    }

    /// An upstream's header lines and what the client's copy of them adds or fixes.
    struct ForwardedHeaders {
        var upstream: UpstreamHeaderBlock
        /// The body's length for `content-length`; `nil` for an answer to HEAD (the upstream's is kept).
        var bodyLength: Int?
        var requestID: String
        var servedBy: String
    }

    /// The head with every header in `head.headers`, for answers not written as HTTP/1 bytes.
    var resolvedHead: HTTPResponseHead {
        guard let forwarded else { return head }
        var resolved = head
        var headers = HTTPHeaders.toClient(
            from: forwarded.upstream, bodyLength: forwarded.bodyLength, requestID: forwarded.requestID, servedBy: forwarded.servedBy)
        headers.add(contentsOf: head.headers)
        resolved.headers = headers
        return resolved
    }
}
