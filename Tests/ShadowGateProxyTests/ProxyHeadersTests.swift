import NIOCore
import NIOHTTP1
@testable import ShadowGateProxy
import Testing

/// The one-pass header rewrites of the data path, both directions.
@Suite("Proxy headers")
struct ProxyHeadersTests {
    @Test("to an upstream: hop-by-hop, Connection-listed, expect, length, id and host replaced; order kept")
    func forwarded() {
        let client = HTTPHeaders([
            ("Host", "gw:8080"), ("Content-Type", "application/json"), ("Connection", "X-Secret, keep-alive"),
            ("X-Secret", "1"), ("Keep-Alive", "timeout=5"), ("Expect", "100-continue"), ("Content-Length", "12"),
            ("X-Request-Id", "client-id"), ("TE", "trailers"), ("Accept", "*/*"), ("Transfer-Encoding", "chunked"),
        ])
        let lines = ForwardedHeaderLines.encode(from: client, requestID: "rid", contentLength: 12, allocator: ByteBufferAllocator())
        let out = UpstreamRequest(method: .POST, uri: "/", headerLines: lines, host: "up:9000", body: nil)
        #expect(String(buffer: out.encodedHead(allocator: ByteBufferAllocator()).bytes) == "POST / HTTP/1.1\r\n"
                + "Content-Type: application/json\r\nAccept: */*\r\nx-request-id: rid\r\ncontent-length: 12\r\nhost: up:9000\r\n\r\n")
        let get = ForwardedHeaderLines.encode(
            from: HTTPHeaders([("Connection", "close"), ("A", "b")]), requestID: "r", contentLength: nil, allocator: ByteBufferAllocator())
        #expect(String(buffer: get) == "A: b\r\nx-request-id: r\r\n")
        // A `Connection:` naming headers, given after them, still drops them (the second pass).
        let late = ForwardedHeaderLines.encode(
            from: HTTPHeaders([("X-A", "1"), ("X-B", "2"), ("Connection", "x-a"), ("Connection", "X-B, close")]),
            requestID: "r", contentLength: nil, allocator: ByteBufferAllocator())
        #expect(String(buffer: late) == "x-request-id: r\r\n")
    }

    @Test("to the client: a right length stays in place, a wrong or missing one is set; id and served-by appended")
    func toClient() {
        let upstream = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "5"), ("X-Request-Id", "theirs"), ("Connection", "keep-alive")])
        let right = HTTPHeaders.toClient(from: upstream, bodyLength: 5, requestID: "rid", servedBy: "legacy")
        #expect(right.map { "\($0.name)=\($0.value)" } == [
            "Content-Type=application/json", "Content-Length=5", "x-request-id=rid", "x-shadowgate-served-by=legacy",
        ])
        let chunked = HTTPHeaders([("Transfer-Encoding", "chunked"), ("X-Stub", "1")])
        let set = HTTPHeaders.toClient(from: chunked, bodyLength: 7, requestID: "rid", servedBy: "learner")
        #expect(set.map { "\($0.name)=\($0.value)" } == ["X-Stub=1", "content-length=7", "x-request-id=rid", "x-shadowgate-served-by=learner"])
        let wrong = HTTPHeaders.toClient(from: upstream, bodyLength: 9, requestID: "rid", servedBy: "legacy")
        #expect(wrong[canonicalForm: "content-length"] == ["9"])
        // A `Connection:` naming headers drops them wherever it stands (the second pass).
        let listing = HTTPHeaders([("X-Hop", "1"), ("Content-Length", "5"), ("Connection", "x-hop"), ("X-Kept", "2")])
        let dropped = HTTPHeaders.toClient(from: listing, bodyLength: 5, requestID: "rid", servedBy: "legacy")
        #expect(dropped.map { "\($0.name)=\($0.value)" } == [
            "Content-Length=5", "X-Kept=2", "x-request-id=rid", "x-shadowgate-served-by=legacy",
        ])
        // HEAD: the upstream's length describes a body that is not sent; it is passed on as is.
        let head = HTTPHeaders.toClient(from: upstream, bodyLength: nil, requestID: "rid", servedBy: "legacy")
        #expect(head[canonicalForm: "content-length"] == ["5"])
    }
}
