import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import ShadowGateProxy
import Testing

/// The HTTP/1 client pipeline's reader (`HTTP1ClientReader`): bytes in however many reads, each
/// request framed once and answered once, in order; nothing decoded after a refusal. The gateway's
/// own endpoint answers, so no upstream is involved.
@Suite("HTTP/1 client reader (EmbeddedChannel)")
struct HTTP1ClientReaderTests {
    static func answers(_ channel: EmbeddedChannel) throws -> [String] {
        try ConnectionHandlerChannelTests.written(channel)
            .components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
    }

    /// Feeds `raw` in reads of `size` bytes.
    static func feed(_ raw: String, readsOf size: Int) throws -> EmbeddedChannel {
        let channel = try ConnectionHandlerChannelTests.channel()
        let bytes = Array(raw.utf8)
        var start = 0
        while start < bytes.count {
            try channel.writeInbound(ByteBuffer(bytes: bytes[start..<min(bytes.count, start + size)]))
            start += size
        }
        return channel
    }

    @Test("pipelined requests with bodies: each answered once, whatever the read boundaries")
    func readBoundaries() throws {
        // A body that reads as a request: framed wrongly, it would be answered too.
        let inner = "GET /healthz HTTP/1.1\r\n\r\n"
        let raw = "POST /healthz HTTP/1.1\r\nContent-Length: \(inner.utf8.count)\r\n\r\n\(inner)"
            + "GET /healthz HTTP/1.1\r\n\r\n"
            + "POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /healthz HTTP/1.1\r\n\r\n"
        for size in [1, 2, 3, 7, 16, 61, raw.utf8.count] {
            let channel = try Self.feed(raw, readsOf: size)
            #expect(try Self.answers(channel) == ["200", "200", "200", "200"], "reads of \(size) bytes")
            #expect(channel.isActive)
            _ = try? channel.finish()
        }
    }

    @Test("large bodies in small reads: the bytes already framed are let go of, the framing stays right")
    func largeBodies() throws {
        let body = String(repeating: "x", count: 5000)
        let request = "POST /healthz HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let channel = try Self.feed(request + request + "GET /healthz HTTP/1.1\r\n\r\n", readsOf: 700)
        #expect(try Self.answers(channel) == ["200", "200", "200"])
        _ = try? channel.finish()
    }

    @Test("after malformed bytes: one 400, and nothing after them is decoded or answered")
    func nothingAfterARefusal() throws {
        let channel = try ConnectionHandlerChannelTests.channel()
        try ConnectionHandlerChannelTests.send(channel, "GET /healthz HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nBad Header: 1\r\n\r\n")
        try? ConnectionHandlerChannelTests.send(channel, "GET /healthz HTTP/1.1\r\n\r\n")
        let written = try ConnectionHandlerChannelTests.written(channel)
        #expect(try Self.answers(channel).isEmpty)  // all read above
        let statuses = written.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
        #expect(statuses == ["200", "400"])
        #expect(written.contains("malformed HTTP request"))
        #expect(!channel.isActive)
    }

    @Test("an answer that closes the connection while later requests are still in the same read: those are not decoded")
    func closedWhileFraming() throws {
        let channel = try ConnectionHandlerChannelTests.channel()
        // The close fires channelInactive from inside the first answer, while the reader is framing this read.
        try ConnectionHandlerChannelTests.send(
            channel, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n")
        #expect(try Self.answers(channel) == ["200"])
        #expect(!channel.isActive)
    }

    @Test("the connection closing with a head half read: nothing answered, nothing thrown")
    func closedMidHead() throws {
        let channel = try ConnectionHandlerChannelTests.channel()
        try ConnectionHandlerChannelTests.send(channel, "GET /healthz HTTP/1.1\r\nHo")
        try channel.close().wait()
        #expect(try Self.answers(channel).isEmpty)
    }
}
