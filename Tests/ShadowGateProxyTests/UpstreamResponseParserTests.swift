import NIOCore
import NIOHTTP1
import Testing
@testable import ShadowGateProxy

@Suite("Upstream response framing")
struct UpstreamResponseParserTests {
    typealias Parser = UpstreamResponseParser

    /// Feeds `text` in pieces of `step` bytes (as reads would bring it); returns the response, the
    /// bytes left after it, and how many pieces were fed before it was complete.
    func feed(_ text: String, step: Int = .max, head: Bool = false, max: Int = 1 << 20) throws -> (Parser.Parsed?, String) {
        var parser = Parser()
        parser.expectResponse(toHEAD: head, maxBodyBytes: max)
        let bytes = Array(text.utf8)
        var received = ByteBuffer()
        var offset = 0
        while offset < bytes.count {
            let end = Swift.min(bytes.count, offset + Swift.max(1, Swift.min(step, bytes.count)))
            received.writeBytes(bytes[offset..<end])
            offset = end
            if let parsed = try parser.parse(&received) {
                received.writeBytes(bytes[offset...])
                return (parsed, String(buffer: received))
            }
        }
        return (nil, String(buffer: received))
    }

    let okResponse = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"predictions\":[0.73]}"

    @Test("a Content-Length body, whole or split at every byte, is passed on byte for byte")
    func contentLength() throws {
        for step in [Int.max, 1, 2, 7, 40] {
            let (parsed, rest) = try feed(okResponse, step: step)
            let p = try #require(parsed)
            #expect(p.response.head.status == .ok)
            #expect(p.response.head.version == .http1_1)
            #expect(p.keepAlive)
            #expect(String(buffer: p.response.body) == "{\"predictions\":[0.73]}")
            #expect(p.response.head.headers.map { "\($0.name)=\($0.value)" } ==
                    ["Server=nginx", "Content-Type=application/json", "Content-Length=22"])
            #expect(rest.isEmpty)
        }
    }

    @Test("a chunked body with extensions and trailers, split anywhere, is joined; trailers are dropped")
    func chunked() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\n1A \r\n" + String(repeating: "z", count: 26)
            + "\r\n0\r\nX-Trailer: 1\r\n\r\n"
        for step in [Int.max, 1, 3, 11] {
            let (parsed, rest) = try feed(text, step: step)
            let p = try #require(parsed)
            #expect(String(buffer: p.response.body) == "hello" + String(repeating: "z", count: 26))
            #expect(p.keepAlive)
            #expect(rest.isEmpty)
        }
    }

    @Test("bytes after the response stay in the buffer (the handler then refuses to reuse the connection)")
    func leftover() throws {
        let (parsed, rest) = try feed(okResponse + "HTTP/1.1 200 OK\r\n")
        #expect(parsed != nil)
        #expect(rest == "HTTP/1.1 200 OK\r\n")
    }

    @Test("no body for HEAD, 204 and 304 whatever the length says; 1xx before the answer is skipped")
    func noBody() throws {
        let (head, _) = try feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true)
        #expect(try #require(head).response.body.readableBytes == 0)
        #expect(try #require(head).response.head.headers["content-length"] == ["5"])
        for code in ["204 No Content", "304 Not Modified"] {
            let (parsed, _) = try feed("HTTP/1.1 \(code)\r\nContent-Length: 5\r\n\r\n")
            #expect(try #require(parsed).response.body.readableBytes == 0)
        }
        let (afterContinue, _) = try feed("HTTP/1.1 100 Continue\r\n\r\n" + okResponse, step: 5)
        #expect(try #require(afterContinue).response.head.status == .ok)
    }

    @Test("a body without length is read until the connection closes, and the connection is not reused")
    func untilClose() throws {
        var parser = Parser()
        parser.expectResponse(toHEAD: false, maxBodyBytes: 100)
        var received = ByteBuffer(string: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc")
        let first = try parser.parse(&received)
        #expect(first == nil)
        var more = ByteBuffer(string: "def")
        let second = try parser.parse(&more)
        #expect(second == nil)
        let ended = parser.inputEnded()
        let parsed = try #require(ended)
        #expect(String(buffer: parsed.response.body) == "abcdef")
        #expect(!parsed.keepAlive)
        // A response whose length is known is not complete at end of input.
        var other = Parser()
        other.expectResponse(toHEAD: false, maxBodyBytes: 100)
        var partial = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
        let partialResult = try other.parse(&partial)
        #expect(partialResult == nil)
        let partialEnd = other.inputEnded()
        #expect(partialEnd == nil)
    }

    @Test("keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with Connection: keep-alive")
    func keepAlive() throws {
        let cases: [(String, Bool)] = [
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", false),
        ]
        for (text, expected) in cases {
            let (parsed, _) = try feed(text)
            #expect(try #require(parsed).keepAlive == expected, "\(text)")
        }
    }

    @Test("malformed heads, lengths and chunks are refused with a reason", arguments: [
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "garbage\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\u{01}b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
    ])
    func malformed(_ text: String) throws {
        let error = #expect(throws: Parser.Failure.self) { _ = try feed(text) }
        guard case .malformed(let reason)? = error else {
            Issue.record("expected .malformed, got \(String(describing: error))")
            return
        }
        #expect(!reason.isEmpty)
    }

    @Test("a head that never ends is refused once it passes the head limit")
    func endlessHead() throws {
        var parser = Parser()
        parser.expectResponse(toHEAD: false, maxBodyBytes: 100)
        var received = ByteBuffer(string: "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: Parser.maxHeadBytes))
        var endless = parser
        #expect(throws: Parser.Failure.self) { _ = try endless.parse(&received) }
    }

    @Test("bodies over the limit are refused: by Content-Length at once, chunked and until-close as they grow")
    func tooLarge() throws {
        #expect(throws: Parser.Failure.tooLarge) {
            _ = try feed("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", max: 10)
        }
        #expect(throws: Parser.Failure.tooLarge) {
            _ = try feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", max: 10)
        }
        #expect(throws: Parser.Failure.tooLarge) {
            _ = try feed("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "a", count: 11), max: 10)
        }
        let (exact, _) = try feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", max: 10)
        #expect(try #require(exact).response.body.readableBytes == 10)
    }

    @Test("the request is written as one buffer: request line, headers in order, empty line, body")
    func requestEncoding() {
        let lines = ByteBuffer(string: "Content-Type: application/json\r\nx-request-id: rid\r\ncontent-length: 2\r\n")
        let request = UpstreamRequest(method: .POST, uri: "/v1/models/m:predict", headerLines: lines, host: "127.0.0.1:9",
                                      body: ByteBuffer(string: "{}"))
        let (bytes, included) = request.encodedHead(allocator: ByteBufferAllocator())
        #expect(included)
        #expect(String(buffer: bytes) == "POST /v1/models/m:predict HTTP/1.1\r\nContent-Type: application/json\r\nx-request-id: rid\r\n"
                + "content-length: 2\r\nhost: 127.0.0.1:9\r\n\r\n{}")
        let big = UpstreamRequest(method: .POST, uri: "/", headerLines: ByteBuffer(), host: "h",
                                  body: ByteBuffer(repeating: 0x61, count: HTTP1Message.copiedBodyLimit + 1))
        let (headOnly, bigIncluded) = big.encodedHead(allocator: ByteBufferAllocator())
        #expect(!bigIncluded)
        #expect(String(buffer: headOnly) == "POST / HTTP/1.1\r\nhost: h\r\n\r\n")
    }
}
