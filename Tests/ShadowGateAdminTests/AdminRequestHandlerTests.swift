import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import ShadowGateAdmin

/// The admin listener's channel handler on an in-memory channel (no socket): how it collects a
/// request, writes the API's answer, and refuses a body that is too large.
@Suite("Admin request handler")
struct AdminRequestHandlerTests {
    /// An active in-memory connection from 192.0.2.7 with the admin handler on it.
    static func channel() async throws -> NIOAsyncTestingChannel {
        let api = try AdminAPIHandlerTests.api(database: AdminAPIHandlerTests.unreachable)
        let channel = NIOAsyncTestingChannel()
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(AdminRequestHandler(api: api))
        }.get()
        try await channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 40000))
        return channel
    }

    /// Reads one whole response written by the handler.
    static func response(_ channel: NIOAsyncTestingChannel) async throws -> (head: HTTPResponseHead, body: String) {
        guard case .head(let head) = try await channel.waitForOutboundWrite(as: HTTPServerResponsePart.self) else {
            Issue.record("the first part written is not a head")
            throw CancellationError()
        }
        var body = ""
        while true {
            switch try await channel.waitForOutboundWrite(as: HTTPServerResponsePart.self) {
            case .body(.byteBuffer(let buffer)): body += String(buffer: buffer)
            case .body: Issue.record("unexpected body kind")
            case .end: return (head, body)
            case .head: Issue.record("a second head")
            }
        }
    }

    static func send(_ channel: NIOAsyncTestingChannel, _ method: HTTPMethod, _ uri: String, headers: HTTPHeaders = [:],
                     body: [UInt8] = [], keepAlive: Bool = true) async throws {
        var headers = headers
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        try await channel.writeInbound(HTTPServerRequestPart.head(head))
        if !body.isEmpty {
            try await channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: body)))
        }
        try await channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    @Test("a refused call is answered with the API's status, a JSON body and its length; the connection stays open")
    func answersThroughTheAPI() async throws {
        let channel = try await Self.channel()
        try await Self.send(channel, .GET, "/admin/routes")
        let (head, body) = try await Self.response(channel)
        #expect(head.status == .unauthorized)
        #expect(head.headers.first(name: "content-type") == "application/json")
        #expect(head.headers.first(name: "content-length") == String(body.utf8.count))
        #expect(head.headers.first(name: "www-authenticate") == #"Bearer realm="shadowgate-admin""#)
        #expect(body.hasPrefix(#"{"error":"#) && body.hasSuffix("}\n"))
        #expect(channel.isActive)

        // The next request on the same connection is handled too.
        try await Self.send(channel, .GET, "/admin/nothing", headers: ["authorization": AdminAPIHandlerTests.good])
        let (second, secondBody) = try await Self.response(channel)
        #expect(second.status == .notFound)
        #expect(secondBody.contains("no admin endpoint at /admin/nothing"))
        #expect(channel.isActive)
        _ = try? await channel.finish()
    }

    @Test("a body larger than 64 KiB is a 413 and the connection is closed, before the API sees it")
    func tooLarge() async throws {
        let channel = try await Self.channel()
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 40 * 1024)
        let head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/admin/routes/m",
                                   headers: ["authorization": AdminAPIHandlerTests.good])
        try await channel.writeInbound(HTTPServerRequestPart.head(head))
        try await channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: chunk)))
        try await channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: chunk)))
        try await channel.writeInbound(HTTPServerRequestPart.end(nil))
        let (response, body) = try await Self.response(channel)
        #expect(response.status == .payloadTooLarge)
        #expect(response.headers.first(name: "connection") == "close")
        #expect(body.contains("larger than 65536 bytes"))
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
    }

    @Test("Connection: close is honoured after the answer")
    func closesWhenAsked() async throws {
        let channel = try await Self.channel()
        try await Self.send(channel, .GET, "/admin/routes", keepAlive: false)
        let (head, _) = try await Self.response(channel)
        #expect(head.status == .unauthorized)
        #expect(head.headers.first(name: "connection") == "close")
        try await channel.closeFuture.get()
    }
}
