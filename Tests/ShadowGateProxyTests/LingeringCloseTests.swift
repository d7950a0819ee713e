import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import ShadowGateConfig
import ShadowGateProxy
import ShadowGateTesting
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The lingering close of HTTP/1 connections the gateway ends after an answer (issue 14): a client
/// still sending reads the answer, the linger is bounded, and it never holds a drain up. Real gateway,
/// blocking loopback sockets (a reset must reach the client's `send`/`recv` as it would any client's).
@Suite("Lingering close")
struct LingeringCloseTests {
    /// Under the gateway's 1 MiB linger cap, well over what the socket buffers take at once.
    static let refusedBodyBytes = 900_000

    static func head(contentLength: Int) -> [UInt8] {
        Array("POST /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(contentLength)\r\n\r\n".utf8)
    }

    /// Whether `bytes` hold one whole answer with `status` and a JSON `{"error": ...}` body of its `content-length`.
    static func isCompleteAnswer(_ bytes: [UInt8], status: Int) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 \(status) "), let split = text.range(of: "\r\n\r\n") else { return false }
        let headers = text[..<split.lowerBound].lowercased().split(separator: "\r\n")
        guard let lengthLine = headers.first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(lengthLine.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { return false }
        let body = Array(text[split.upperBound...].utf8)
        guard body.count == length, let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return false }
        return object["error"] is String
    }

    /// Sends one byte every 50 ms until a send fails (the gateway closed; returns its `errno`) or `seconds` pass (nil).
    static func trickle(_ socket: BlockingTestSocket, seconds: Int) -> Int32? {
        let giveUp = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < giveUp {
            if let error = socket.send([UInt8(ascii: "x")]) { return error }
            usleep(50_000)
        }
        return nil
    }

    /// Connects, sends a head declaring a body over the limit, and reads until EOF: the 413, then the
    /// gateway's FIN (its write side is shut; it still reads).
    static func lingeringConnection(port: Int) async throws -> (BlockingTestSocket, answer: [UInt8], end: BlockingTestSocket.End) {
        try await onThread {
            let socket = try BlockingTestSocket(port: port, timeoutSeconds: 20)
            _ = socket.send(head(contentLength: 10_000_000))
            let (answer, end) = socket.readToEnd()
            return (socket, answer, end)
        }
    }

    /// A gateway (`max_body_bytes` 1024, the given linger) and a connection lingering after its 413:
    /// the answer read whole, then the gateway's FIN.
    static func gatewayWithLingeringClient(
        lingerMillis: Int, configure: (inout GatewayConfig) -> Void = { _ in }
    ) async throws -> (GatewayHarness, BlockingTestSocket) {
        let harness = try await GatewayHarness.start {
            $0.limits.maxBodyBytes = 1024
            $0.limits.clientLingerTimeoutMillis = lingerMillis
            configure(&$0)
        }
        let (socket, answer, end) = try await lingeringConnection(port: harness.port)
        #expect(isCompleteAnswer(answer, status: 413))
        #expect(end == .eof)
        return (harness, socket)
    }

    @Test("a client still sending a refused body finishes its send without a reset and reads the whole 413, on each of 30 connections")
    func refusedBodyAnswerSeen() async throws {
        // A linger far above the time the send takes on a loaded machine; the client's close ends each one.
        let harness = try await GatewayHarness.start {
            $0.limits.maxBodyBytes = 1024
            $0.limits.clientLingerTimeoutMillis = 30_000
        }
        let port = harness.port
        // The whole body in one go, then read: how a client that sends before it reads (most do) sees a refusal.
        let request = Self.head(contentLength: Self.refusedBodyBytes) + [UInt8](repeating: UInt8(ascii: "x"), count: Self.refusedBodyBytes)
        var failed: [String] = []
        for attempt in 0..<30 {
            let (bytes, end, sendError) = try await onThread { () throws -> ([UInt8], BlockingTestSocket.End, Int32?) in
                let socket = try BlockingTestSocket(port: port, sendBuffer: 8192)
                let sendError = socket.send(request)
                let (bytes, end) = socket.readToEnd()
                return (bytes, end, sendError)
            }
            // A client whose send fails gives up before it reads (Python's http.client and asyncio
            // streams raise there); the answer read anyway shows what a more patient client would get.
            if sendError != nil || !Self.isCompleteAnswer(bytes, status: 413) {
                let sent = sendError.map { "send failed: \(String(cString: strerror($0)))" } ?? "all sent"
                let read = Self.isCompleteAnswer(bytes, status: 413) ? "the 413 readable after" : "\(bytes.count) bytes read"
                failed.append("#\(attempt): \(sent), \(read), then \(end)")
            }
        }
        #expect(failed.isEmpty, "\(failed.count) of 30 failed: \(failed.prefix(3).joined(separator: "; "))")
        #expect(harness.legacy.requests.isEmpty)
        await harness.stop()
    }

    @Test("a lingering connection closes after limits.client_linger_timeout_ms although the client never stops sending")
    func lingerTimeoutEndsTrickle() async throws {
        let (harness, socket) = try await Self.gatewayWithLingeringClient(lingerMillis: 500)
        // 20 bytes a second never reach the byte cap: only the timeout can end it.
        let stoppedBy = try await onThread { Self.trickle(socket, seconds: 30) }
        #expect(stoppedBy == EPIPE || stoppedBy == ECONNRESET, "still open after 30 s of trickling: \(stoppedBy.map { String(cString: strerror($0)) } ?? "no error")")
        await harness.stop()
    }

    @Test("a drain ends while a client lingers (its linger longer than the wait), and closes that connection")
    func drainEndsWhileLingering() async throws {
        let (harness, socket) = try await Self.gatewayWithLingeringClient(lingerMillis: 120_000)
        let trickler = Task { try await onThread { Self.trickle(socket, seconds: 60) } }
        // An unstructured task: a drain that never ends must fail the test, not hang it.
        Task { await harness.server.shutdown() }
        // Below the drain's own 30 s deadline: the lingering connection must not be what ends it.
        #expect(try await OverloadTests.eventually(within: .seconds(20)) { harness.server.isStopped }, "the drain did not end")
        let stoppedBy = try await trickler.value
        #expect(stoppedBy != nil, "the lingering connection was still open after the drain")
        await harness.legacy.stop()
        await harness.learner.stop()
    }

    @Test("a lingering connection counts against limits.max_connections until the client closes it")
    func lingeringCountsAgainstLimit() async throws {
        let (harness, socket) = try await Self.gatewayWithLingeringClient(lingerMillis: 120_000) { $0.limits.maxConnections = 1 }
        let healthz = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        // Closed as accepted while the other lingers (the write itself may fail on the closed socket).
        let refused = (try? await RawHTTPExchange.send(healthz, port: harness.port, timeout: .seconds(10))) ?? []
        #expect(refused.isEmpty)
        // The client's EOF ends the linger at once (its timeout is two minutes): the slot is free again.
        socket.close()
        let served = try await OverloadTests.eventually(within: .seconds(10)) {
            let answer = (try? await RawHTTPExchange.send(healthz, port: harness.port, timeout: .seconds(5))) ?? []
            return String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200")
        }
        #expect(served)
        await harness.stop()
    }

    @Test("over TLS (HTTP/1.1): the 413, then the gateway's close_notify while the client keeps sending, then a close at the linger timeout")
    func lingerOverTLS() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let harness = try await GatewayHarness.start {
            $0.limits.maxBodyBytes = 1024
            $0.limits.clientLingerTimeoutMillis = 1000
            $0.listenTLS = ListenerTLSConfig(certFile: certs.serverCertFile, keyFile: certs.serverKeyFile)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Released however the test ends (a `try` that throws midway would otherwise leak its thread).
        defer { group.shutdownGracefully { _ in } }
        let sslContext = try certs.clientContext(alpn: ["http/1.1"])
        let collector = HalfCloseCollector()
        // Half-closure allowed: the client goes on sending after the gateway's close_notify, as one still uploading would.
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: harness.port).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: Self.head(contentLength: 10_000_000)))
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1024)
        let giveUp = ContinuousClock.now + .seconds(30)
        while channel.isActive, ContinuousClock.now < giveUp {
            try? await channel.writeAndFlush(chunk)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!channel.isActive, "still open after 30 s of sending")
        #expect(Self.isCompleteAnswer(collector.bytes, status: 413), "\(String(decoding: collector.bytes, as: UTF8.self))")
        #expect(collector.inputClosed, "the gateway closed without a close_notify or FIN first")
        try? await channel.close()
        await harness.stop()
    }
}

/// Collects what a client channel reads, and whether the server half-closed it first.
private final class HalfCloseCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let state = Mutex<(bytes: [UInt8], inputClosed: Bool)>(([], false))

    var bytes: [UInt8] { state.withLock { $0.bytes } }
    var inputClosed: Bool { state.withLock { $0.inputClosed } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { $0.bytes.append(contentsOf: buffer.readableBytesView) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            state.withLock { $0.inputClosed = true }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
