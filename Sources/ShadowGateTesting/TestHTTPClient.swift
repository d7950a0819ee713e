import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A response as a test sees it.
public struct TestResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var bodyString: String { String(decoding: body, as: UTF8.self) }
}

/// One keep-alive HTTP/1.1 connection for tests; requests are sent one after another.
///
/// It owns an event loop thread from `init` until ``close()``: every client a test makes must be
/// closed. When `init` throws (nothing listens), the thread is already released.
public final class TestHTTPClient: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let handler: NIOLoopBound<ResponseCollector>

    public init(host: String = "127.0.0.1", port: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let collectorBox = Mutex<NIOLoopBound<ResponseCollector>?>(nil)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let collector = ResponseCollector()
                        collectorBox.withLock { $0 = NIOLoopBound(collector, eventLoop: channel.eventLoop) }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(collector)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            // Nobody gets a client to close, so the loop is released here: polls that connect until
            // a server listens (waitUntilListening) otherwise leave a thread and its fds per attempt.
            try? await group.shutdownGracefully()
            throw error
        }
        self.group = group
        self.channel = channel
        self.handler = collectorBox.withLock { $0! }
    }

    /// Sends a request and waits for its whole response.
    public func send(
        _ method: HTTPMethod = .POST, _ path: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> TestResponse {
        try await send(method, path, headers: headers, bodyBytes: body.map { Array($0.utf8) })
    }

    public func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)], bodyBytes: [UInt8]?
    ) async throws -> TestResponse {
        let handler = self.handler
        let channel = self.channel
        return try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<TestResponse> in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "host", value: "127.0.0.1")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if let bodyBytes { head.headers.replaceOrAdd(name: "content-length", value: String(bodyBytes.count)) }
            let promise = channel.eventLoop.makePromise(of: TestResponse.self)
            guard channel.isActive else {
                promise.fail(ChannelError.ioOnClosedChannel)
                return promise.futureResult
            }
            handler.value.pending.append(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let bodyBytes {
                channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: bodyBytes))), promise: nil)
            }
            // A request the server never got (the connection closed under it) fails instead of waiting forever.
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { error in
                // Fail it only if the collector has not (channelInactive fails whatever is pending).
                let pending = handler.value.pending
                if let index = pending.firstIndex(where: { $0.futureResult === promise.futureResult }) {
                    handler.value.pending.remove(at: index)
                    promise.fail(error)
                }
            }
            return promise.futureResult
        }.get()
    }

    private let closed = Mutex(false)

    /// Closes the connection and releases the event loop. Safe to call more than once.
    public func close() async {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    var pending = CircularBuffer<EventLoopPromise<TestResponse>>()
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            if h.status.code == 100 { return }
            head = h
            body = []
        case .body(let part):
            body.append(contentsOf: part.readableBytesView)
        case .end:
            guard let head, let promise = pending.popFirst() else { return }
            promise.succeed(TestResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: body))
            self.head = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = pending.popFirst() { promise.fail(ChannelError.ioOnClosedChannel) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        while let promise = pending.popFirst() { promise.fail(error) }
        context.close(promise: nil)
    }
}

/// Writes raw bytes to a server and returns every byte it answers until it closes or `timeout` passes.
public enum RawHTTPExchange {
    public static func send(_ bytes: [UInt8], port: Int, timeout: TimeAmount = .seconds(5)) async throws -> [UInt8] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let bytes = try await exchange(bytes, port: port, timeout: timeout, group: group)
            try? await group.shutdownGracefully()
            return bytes
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func exchange(_ bytes: [UInt8], port: Int, timeout: TimeAmount, group: EventLoopGroup) async throws -> [UInt8] {
        let collected = ByteSink()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawCollector(collected: collected))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        timer.cancel()
        return collected.bytes.withLock { $0 }
    }
}

final class ByteSink: Sendable {
    let bytes = Mutex<[UInt8]>([])
}

final class RawCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let collected: ByteSink
    init(collected: ByteSink) { self.collected = collected }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        collected.bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
    }
}
