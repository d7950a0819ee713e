import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import ShadowGateConfig
import ShadowGateProxy
import ShadowGateTesting
import Synchronization
import Testing

/// REST over h2 on the TLS client listener (ALPN `h2`), and the overload limits on h2 connections.
@Suite("h2 on the TLS client listener")
struct ListenerHTTP2Tests {
    static func harness(_ certs: TestCertificates, limits: (inout LimitsConfig) -> Void = { _ in }) async throws -> GatewayHarness {
        try await GatewayHarness.start { config in
            config.listenTLS = ListenerTLSConfig(certFile: certs.serverCertFile, keyFile: certs.serverKeyFile)
            limits(&config.limits)
        }
    }

    @Test("curl --http2 gets the same answer as HTTP/1.1 over h2, one pair per request, several requests on one connection")
    func restOverH2() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let gateway = try await Self.harness(certs)
        let url = "https://localhost:\(gateway.port)/v2/models/churn/infer"
        let common = ["--cacert", certs.caFile, "-H", "content-type: application/json", "-d", inferBody]

        let http1 = try await runCurl(["-w", "\n%{http_version} %{http_code}", "--http1.1"] + common + [url])
        #expect(http1.output == GatewayHarness.legacyBody + "\n1.1 200", "\(http1.output)")
        _ = try await gateway.records(count: 1)

        // Three requests on one h2 connection (curl reuses it for the same host).
        let h2 = try await runCurl(["-w", "\n%{http_version} %{http_code} %{num_connects}\n", "--http2"] + common + [url, url, url])
        let answers = h2.output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(answers == [
            GatewayHarness.legacyBody, "2 200 1",
            GatewayHarness.legacyBody, "2 200 0",
            GatewayHarness.legacyBody, "2 200 0",
        ], "\(h2.output)")

        let records = try await gateway.records(count: 4)
        #expect(records.count == 4)
        for record in records {
            #expect(record.legacy.score == 0.25)
            #expect(record.learner.score == 0.75)
        }
        #expect(Set(records.map(\.requestID)).count == 4)
        // Stay a little: a second record for one request would arrive now.
        try await Task.sleep(for: .milliseconds(200))
        #expect(gateway.sink.all.count == 4)

        // Own endpoints and errors over h2 too.
        let health = try await runCurl(["-w", "\n%{http_version} %{http_code}", "--http2", "--cacert", certs.caFile, "https://localhost:\(gateway.port)/healthz"])
        #expect(health.output == "{\"live\":true}\n\n2 200", "\(health.output)")
        let missing = try await runCurl(["-w", "\n%{http_version} %{http_code}", "--http2", "--cacert", certs.caFile, "https://localhost:\(gateway.port)/nowhere"])
        #expect(missing.output.hasSuffix("\n2 404"), "\(missing.output)")
        await gateway.stop()
    }

    @Test("h2: a body over the limit gets 413 on its stream")
    func bodyLimitOnH2() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let gateway = try await Self.harness(certs) { $0.maxBodyBytes = 64 }
        let url = "https://localhost:\(gateway.port)/v2/models/churn/infer"
        let big = String(repeating: "x", count: 200)
        let run = try await runCurl(["-w", "\n%{http_version} %{http_code}\n", "--http2", "--cacert", certs.caFile, "-d", big, url])
        #expect(run.output.contains("\n2 413\n"), "\(run.output)")
        await gateway.stop()
    }

    @Test("h2: a connection that never finishes the handshake, a stream whose body never comes, and an idle connection are closed; max_connections counts h2 connections")
    func overloadLimitsOnH2() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let gateway = try await Self.harness(certs) { limits in
            // Long enough that the silent connection still holds the one slot when curl arrives on a
            // loaded machine; the waits below are bounded by `closed(_:within:)`.
            limits.clientIdleTimeoutMillis = 4000
            limits.clientBodyTimeoutMillis = 500
            limits.clientHeaderTimeoutMillis = 500
            limits.maxConnections = 1
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Released however the test ends (a `try` that throws midway would otherwise leak its thread).
        defer { group.shutdownGracefully { _ in } }

        // A TCP connection that says nothing: closed by the first-request deadline.
        let silent = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: gateway.port).get()
        // While it is open it is the one connection allowed: an h2 client is refused.
        let refused = try await runCurl(["-w", "\n%{http_code}", "--http2", "--cacert", certs.caFile, "https://localhost:\(gateway.port)/healthz"])
        #expect(refused.status != 0, "\(refused.output)")
        #expect(silent.isActive, "the silent connection was closed before curl came: the slot was free")
        try await Self.closed(silent, within: .seconds(15))

        // An h2 connection with a stream whose body never comes: 408 on the stream, then the idle
        // connection is closed by the server.
        let (connection, stream, response) = try await Self.h2Stream(certs, port: gateway.port, group: group)
        var headers = HTTPHeaders([("host", "localhost"), ("content-type", "application/json"), ("content-length", "100")])
        headers.add(name: "x-request-id", value: "h2-slow-body")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v2/models/churn/infer", headers: headers)
        try await stream.writeAndFlush(HTTPClientRequestPart.head(head)).get()
        #expect(try await response.get().status == .requestTimeout)
        try await Self.closed(connection, within: .seconds(15))

        // With both gone, an h2 client is served again.
        let served = try await runCurl(["-w", "\n%{http_version} %{http_code}", "--http2", "--cacert", certs.caFile, "https://localhost:\(gateway.port)/healthz"])
        #expect(served.output.hasSuffix("\n2 200"), "\(served.output)")
        #expect(gateway.sink.all.isEmpty)
        await gateway.stop()
    }

    @Test("shutdown with an open h2 connection: GOAWAY, and the connection closes without waiting for the drain deadline")
    func drainClosesH2Connections() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let gateway = try await Self.harness(certs)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Released however the test ends (a `try` that throws midway would otherwise leak its thread).
        defer { group.shutdownGracefully { _ in } }
        let (connection, stream, response) = try await Self.h2Stream(certs, port: gateway.port, group: group)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz", headers: HTTPHeaders([("host", "localhost")]))
        try await stream.writeAndFlush(HTTPClientRequestPart.head(head)).get()
        try await stream.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        #expect(try await response.get().status == .ok)
        #expect(connection.isActive)

        // The default drain deadline is 30 s; an h2 connection must not sit it out.
        let started = ContinuousClock.now
        await gateway.stop()
        #expect(ContinuousClock.now - started < .seconds(20), "the drain waited \(ContinuousClock.now - started)")
        try await Self.closed(connection, within: .seconds(5))
    }

    @Test("an idle h2 client that never acknowledges the shutdown PING is closed after the idle GOAWAY anyway")
    func idleCloseWithoutPingAck() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let gateway = try await Self.harness(certs) { $0.clientIdleTimeoutMillis = 1000 }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Released however the test ends (a `try` that throws midway would otherwise leak its thread).
        defer { group.shutdownGracefully { _ in } }
        let sslContext = try certs.clientContext(alpn: ["h2"])
        let frames = RawFrameCollector()
        let connection = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(frames)
                }
            }
            .connect(host: "127.0.0.1", port: gateway.port).get()
        // A client that speaks just enough HTTP/2 for one request, and then reads nothing: it never
        // acknowledges the server's SETTINGS or PINGs (as a client whose HTTP/2 state broke would).
        var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 0x4, 0, 0, 0, 0, 0]
        // GET /healthz: :method GET, :scheme https (static table), :path and :authority literal.
        let block: [UInt8] = [0x82, 0x87, 0x44, 8] + Array("/healthz".utf8) + [0x41, 9] + Array("localhost".utf8)
        bytes += [0, 0, UInt8(block.count), 0x1, 0x5, 0, 0, 0, 1] + block
        try await connection.writeAndFlush(ByteBuffer(bytes: bytes))

        // Answered, then idle: the server sends GOAWAY and a PING that is never acknowledged. It must
        // not wait for the acknowledgement forever.
        try await Self.closed(connection, within: .seconds(20))
        let received = frames.frames
        #expect(received.contains { $0.type == 0x1 && $0.stream == 1 }, "no response HEADERS on stream 1: \(received)")
        #expect(received.contains { $0.type == 0x7 }, "closed without a GOAWAY first: \(received)")
        await gateway.stop()
    }

    /// A TLS connection offering only h2 to the gateway, and one stream on it speaking HTTP/1
    /// parts; `response` completes with the stream's first response head, or fails after `bound`.
    ///
    /// TLS and HTTP/2 go into the pipeline together, before the connection is made: the server sends
    /// its SETTINGS right after the handshake, and bytes that arrive before the HTTP/2 handler is in
    /// place fall off the end of the pipeline. An HTTP/2 client that never saw the server's preface
    /// refuses every frame after it (a GOAWAY) but leaves the connection and the stream open, so the
    /// response would never come — which happened when the handler was added in a second step after
    /// `connect` returned and the test's task resumed late on a busy cooperative pool.
    static func h2Stream(_ certs: TestCertificates, port: Int, group: EventLoopGroup, bound: TimeAmount = .seconds(30)) async throws
        -> (connection: Channel, stream: Channel, response: EventLoopFuture<HTTPResponseHead>) {
        let sslContext = try certs.clientContext(alpn: ["h2"])
        let (connection, multiplexer) = try await ClientBootstrap(group: group)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: "localhost"))
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()) { $0.eventLoop.makeSucceededVoidFuture() }
                    return (channel, multiplexer)
                }
            }
        let response = connection.eventLoop.makePromise(of: HTTPResponseHead.self)
        let stream = try await multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                let collector = ResponseHeadCollector(promise: response)
                try stream.pipeline.syncOperations.addHandler(collector)
                // A response that never comes fails the test instead of hanging it.
                let giveUp = stream.eventLoop.scheduleTask(in: bound) { collector.giveUp(after: bound) }
                response.futureResult.whenComplete { _ in giveUp.cancel() }
            }
        }.get()
        return (connection, stream, response.futureResult)
    }

    /// Waits for the server to close `channel`; fails (and closes it) after `bound`.
    static func closed(_ channel: Channel, within bound: Duration) async throws {
        let deadline = ContinuousClock.now + bound
        while channel.isActive, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!channel.isActive, "the server kept the connection open for \(bound)")
        try? await channel.close()
    }
}

/// Completes its promise with the first response head on a stream (or fails when the stream ends without one,
/// or when ``giveUp(after:)`` comes first).
private final class ResponseHeadCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<HTTPResponseHead>
    private var done = false

    init(promise: EventLoopPromise<HTTPResponseHead>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), !done, head.status.code >= 200 {
            done = true
            promise.succeed(head)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }

    /// Called on the stream's event loop.
    func giveUp(after bound: TimeAmount) {
        if !done {
            done = true
            promise.fail(ResponseHeadMissing(bound: bound))
        }
    }
}

struct ResponseHeadMissing: Error, CustomStringConvertible {
    let bound: TimeAmount
    var description: String { "no response head on the h2 stream within \(bound)" }
}

/// Splits the plaintext an h2 server sends into frame headers (type and stream ID), answering nothing.
private final class RawFrameCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    struct Frame: Sendable, CustomStringConvertible {
        var type: UInt8
        var stream: UInt32
        var description: String { "type \(type) stream \(stream)" }
    }
    private let state = Mutex<(pending: [UInt8], frames: [Frame])>(([], []))

    var frames: [Frame] { state.withLock { $0.frames } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { state in
            state.pending.append(contentsOf: buffer.readableBytesView)
            while state.pending.count >= 9 {
                let length = Int(state.pending[0]) << 16 | Int(state.pending[1]) << 8 | Int(state.pending[2])
                guard state.pending.count >= 9 + length else { break }
                let stream = (UInt32(state.pending[5]) << 24 | UInt32(state.pending[6]) << 16
                    | UInt32(state.pending[7]) << 8 | UInt32(state.pending[8])) & 0x7fff_ffff
                state.frames.append(Frame(type: state.pending[3], stream: stream))
                state.pending.removeFirst(9 + length)
            }
        }
    }
}
