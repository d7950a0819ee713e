import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import ShadowGateProxy
import Testing

/// The gateway's own HTTP/1 answer bytes against NIO's `HTTPResponseEncoder` (the reference it
/// replaced): for each request method, status and header set, the same bytes on the wire.
@Suite("Client response encoding")
struct ClientResponseEncodingTests {
    /// What NIO's server pipeline writes for `head` and `body` in answer to a request with `method`.
    static func nioBytes(_ head: HTTPResponseHead, body: ByteBuffer, method: HTTPMethod) throws -> String {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false)
        // The decoder tells the encoder the request's method (HEAD and CONNECT answers have no body).
        let request = "\(method.rawValue) \(method == .CONNECT ? "example.org:443" : "/") HTTP/1.1\r\nhost: x\r\n\r\n"
        try channel.writeInbound(ByteBuffer(string: request))
        while try channel.readInbound(as: HTTPServerRequestPart.self) != nil {}
        try channel.writeOutbound(HTTPServerResponsePart.head(head))
        if body.readableBytes > 0 { _ = try? channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(body))) }
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        var text = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(var buffer) = part else { continue }
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        _ = try? channel.finish()
        return text
    }

    static func ourBytes(_ head: HTTPResponseHead, body: ByteBuffer, method: HTTPMethod) -> String {
        let (first, rest) = ClientResponseEncoding.encode(head, body: body, requestMethod: method, connection: nil, allocator: ByteBufferAllocator())
        return String(buffer: first) + (rest.map { String(buffer: $0) } ?? "")
    }

    static let cases: [(String, HTTPResponseStatus, [(String, String)], String)] = [
        ("json with length", .ok, [("content-type", "application/json"), ("Content-Length", "13"), ("x-request-id", "r")], "{\"a\":[1,2,3]}"),
        ("no length: chunked", .ok, [("content-type", "text/plain")], "hello"),
        ("length and transfer-encoding", .created, [("transfer-encoding", "chunked"), ("content-length", "2")], "ok"),
        ("204 drops the length", .noContent, [("content-length", "0"), ("x-a", "b")], ""),
        ("304", .notModified, [("content-length", "5"), ("etag", "\"1\"")], ""),
        ("custom reason", .custom(code: 599, reasonPhrase: "Model On Fire"), [("content-length", "1")], "x"),
        ("error body", .serviceUnavailable, [("content-type", "application/json"), ("content-length", "12")], "{\"error\":1}\n"),
    ]

    @Test("the same bytes as NIO's encoder for GET, POST, HEAD and CONNECT answers", arguments: [HTTPMethod.GET, .POST, .HEAD, .CONNECT])
    func sameAsNIO(method: HTTPMethod) throws {
        for (name, status, headers, body) in Self.cases {
            for version in [HTTPVersion.http1_1, .http1_0] {
                let head = HTTPResponseHead(version: version, status: status, headers: HTTPHeaders(headers))
                let expected = try Self.nioBytes(head, body: ByteBuffer(string: body), method: method)
                #expect(Self.ourBytes(head, body: ByteBuffer(string: body), method: method) == expected, "\(name), \(method), \(version)")
            }
        }
    }

    @Test("`connection` replaces the head's Connection headers and comes last; a large body is returned to be written uncopied")
    func connectionAndLargeBody() {
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([("Connection", "keep-alive"), ("content-length", "2")]))
        let (bytes, rest) = ClientResponseEncoding.encode(head, body: ByteBuffer(string: "ok"), requestMethod: .GET, connection: "close", allocator: ByteBufferAllocator())
        #expect(rest == nil)
        #expect(String(buffer: bytes) == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        let big = ByteBuffer(repeating: 0x61, count: HTTP1Message.copiedBodyLimit + 1)
        let large = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([("content-length", String(big.readableBytes))]))
        let (headOnly, body) = ClientResponseEncoding.encode(large, body: big, requestMethod: .POST, connection: nil, allocator: ByteBufferAllocator())
        #expect(String(buffer: headOnly) == "HTTP/1.1 200 OK\r\ncontent-length: \(big.readableBytes)\r\n\r\n")
        #expect(body == big)
        #expect(String(buffer: ClientResponseEncoding.continueHead(version: .http1_1, allocator: ByteBufferAllocator())) == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    @Test("a forwarded answer, written from the upstream's header bytes, has the bytes NIO's encoder writes for the headers `toClient` makes",
          arguments: [HTTPMethod.GET, .POST, .HEAD, .CONNECT])
    func forwardedSameAsNIO(method: HTTPMethod) throws {
        let hopByHop: [(String, String)] = [
            ("Connection", "keep-alive, X-Internal"), ("keep-alive", "timeout=5"), ("X-Internal", "secret"),
            ("transfer-encoding", "chunked"), ("X-Request-ID", "upstream-id"), ("server", "model"),
        ]
        for (name, status, headers, body) in Self.cases {
            for upstreamHeaders in [headers, hopByHop + headers, headers + [("content-length", "999")]] {
                let bodyLength = method == .HEAD ? nil : body.utf8.count
                let forwarded = GatewayResponse.ForwardedHeaders(
                    upstream: UpstreamHeaderBlock(HTTPHeaders(upstreamHeaders)), bodyLength: bodyLength, requestID: "rid", servedBy: "legacy")
                let response = GatewayResponse(
                    head: HTTPResponseHead(version: .http1_1, status: status), body: ByteBuffer(string: body), forwarded: forwarded)
                let expected = try Self.nioBytes(response.resolvedHead, body: response.body, method: method)
                let (first, rest) = ClientResponseEncoding.encode(
                    response.head, body: response.body, forwarded: forwarded, requestMethod: method, connection: nil,
                    allocator: ByteBufferAllocator())
                #expect(String(buffer: first) + (rest.map { String(buffer: $0) } ?? "") == expected, "\(name), \(method), \(upstreamHeaders)")
                #expect(!expected.lowercased().contains("secret") && !expected.contains("upstream-id"))
            }
        }
    }

    @Test("a forwarded answer from an upstream's own bytes: untidy lines (no space, extra blanks, bare LF) come out `name: value` and CRLF, tidy ones as they came")
    func forwardedFromUntidyBytes() throws {
        let raw = "HTTP/1.1 200 OK\r\nServer: m\r\nX-A:1\nX-B: \t two words \r\nConnection: keep-alive\r\nX-C: 3\r\nX-D: 4\r\n"
            + "Content-Length: 2\r\nX-Request-Id: theirs\r\nTransfer-Encoding: identity\r\nX-E: 5\r\n\r\nok"
        var parser = UpstreamResponseParser()
        parser.expectResponse(toHEAD: false, maxBodyBytes: 100)
        var buffer = ByteBuffer(string: raw)
        // Transfer-Encoding without chunked: read until close.
        _ = try parser.parse(&buffer)
        let ended = parser.inputEnded()
        let response = try #require(ended).response
        let forwarded = GatewayResponse.ForwardedHeaders(upstream: response.fields, bodyLength: 2, requestID: "rid", servedBy: "legacy")
        let (bytes, rest) = ClientResponseEncoding.encode(
            HTTPResponseHead(version: .http1_1, status: response.status), body: response.body, forwarded: forwarded,
            requestMethod: .POST, connection: "close", allocator: ByteBufferAllocator())
        #expect(rest == nil)
        #expect(String(buffer: bytes) == "HTTP/1.1 200 OK\r\nServer: m\r\nX-A: 1\r\nX-B: two words\r\nX-C: 3\r\nX-D: 4\r\n"
            + "Content-Length: 2\r\nX-E: 5\r\nx-request-id: rid\r\nx-shadowgate-served-by: legacy\r\nconnection: close\r\n\r\nok")
    }
}
