import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import ShadowGateConfig
import ShadowGateTLS

/// One HTTP/2 connection to a gRPC upstream, owned by one event loop, carrying many calls at once
/// (one stream each).
///
/// Promises: at most `maxConcurrentCalls` calls are in flight (beyond that a call fails at once
/// with `.saturated`); every call completes exactly once, by its deadline (`.timeout`, and the
/// stream is reset); a broken connection fails its calls and the next call opens a new one.
/// Confined to `eventLoop` (hence `@unchecked Sendable`).
final class GRPCUpstreamConnection: @unchecked Sendable {
    let eventLoop: EventLoop
    let upstream: UpstreamConfig
    private let tls: UpstreamTLSContext?
    private let maxConcurrentCalls: Int
    private let maxResponseBytes: Int
    private var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    private var channel: Channel?
    private var connecting: [(GRPCCallRequest, TimeAmount, NIODeadline, (GRPCCallResult) -> Void)] = []
    private var isConnecting = false
    private var inFlight = 0
    /// Why the current connection broke (a TLS handshake failure, say), told to the calls it ends.
    private var connectionFailure: GRPCCallFailure?

    init(eventLoop: EventLoop, upstream: UpstreamConfig, tls: UpstreamTLSContext?, maxConcurrentCalls: Int, maxResponseBytes: Int) {
        self.eventLoop = eventLoop
        self.upstream = upstream
        self.tls = tls
        self.maxConcurrentCalls = max(1, maxConcurrentCalls)
        self.maxResponseBytes = maxResponseBytes
    }

    var isSaturated: Bool { inFlight >= maxConcurrentCalls }

    /// Sends one unary call; `completion` runs exactly once, on the event loop.
    func call(_ request: GRPCCallRequest, timeout: TimeAmount, completion: @escaping (GRPCCallResult) -> Void) {
        eventLoop.assertInEventLoop()
        let started = NIODeadline.now()
        guard inFlight < maxConcurrentCalls else {
            completion(GRPCCallResult(failure: .saturated, latencyMicros: 0))
            return
        }
        inFlight += 1
        let done: (GRPCCallResult) -> Void = { [self] result in
            inFlight -= 1
            completion(result)
        }
        if let multiplexer, channel?.isActive == true, connectionFailure == nil {
            open(request, timeout: timeout, started: started, on: multiplexer, completion: done)
            return
        }
        connecting.append((request, timeout, started, done))
        connect()
    }

    func shutdown() {
        channel?.close(promise: nil)
    }

    private func connect() {
        guard !isConnecting else { return }
        isConnecting = true
        let tls = self.tls
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(Int64(min(upstream.timeoutMillis, 10_000))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeHandler()) }
                }
            }
        bootstrap.connect(host: upstream.host, port: upstream.port).whenComplete { [self] result in
            isConnecting = false
            switch result {
            case .success(let channel):
                do {
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client,
                        connectionConfiguration: .init(),
                        streamConfiguration: .init()
                    ) { stream in stream.close() } // servers do not push to gRPC clients
                    // The TLS handshake runs after connect: its failure arrives here, and the streams
                    // it ends report it instead of a bare "stream closed".
                    let bound = NIOLoopBound(self, eventLoop: eventLoop)
                    try channel.pipeline.syncOperations.addHandler(GRPCConnectionErrorHandler { error in
                        let connection = bound.value
                        guard connection.channel === channel, connection.connectionFailure == nil else { return }
                        if let reason = TLSFailure.reason(error) {
                            connection.connectionFailure = .tlsFailed(reason)
                        } else {
                            connection.connectionFailure = .streamClosed("the HTTP/2 connection failed")
                        }
                    })
                    connectionFailure = nil
                    self.channel = channel
                    self.multiplexer = multiplexer
                    channel.closeFuture.whenComplete { [weak self] _ in
                        guard let self, self.channel === channel else { return }
                        self.channel = nil
                        self.multiplexer = nil
                        self.connectionFailure = nil
                    }
                    let waiting = connecting
                    connecting.removeAll()
                    for (request, timeout, started, completion) in waiting {
                        open(request, timeout: timeout, started: started, on: multiplexer, completion: completion)
                    }
                } catch {
                    channel.close(promise: nil)
                    failWaiting(.connectFailed("HTTP/2 set-up failed"))
                }
            case .failure(let error):
                failWaiting(.connectFailed("\(upstream.host):\(upstream.port): \(error)"))
            }
        }
    }

    private func failWaiting(_ failure: GRPCCallFailure) {
        let waiting = connecting
        connecting.removeAll()
        for (_, _, started, completion) in waiting {
            completion(GRPCCallResult(failure: failure, latencyMicros: (NIODeadline.now() - started).nanoseconds / 1000))
        }
    }

    private func open(
        _ request: GRPCCallRequest, timeout: TimeAmount, started: NIODeadline,
        on multiplexer: NIOHTTP2Handler.StreamMultiplexer, completion: @escaping (GRPCCallResult) -> Void
    ) {
        let remaining = started + timeout - .now()
        guard remaining > .zero else {
            completion(GRPCCallResult(failure: .timeout, latencyMicros: (NIODeadline.now() - started).nanoseconds / 1000))
            return
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let handler = GRPCUpstreamStreamHandler(
            maxResponseBytes: maxResponseBytes, started: started, connectionFailure: { bound.value.connectionFailure }
        ) { result in
            completion(result)
        }
        var headers = HPACKHeaders()
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: tls == nil ? "http" : "https")
        headers.add(name: ":path", value: request.path)
        headers.add(name: ":authority", value: upstream.authority)
        for (name, value, indexing) in request.metadata {
            // The gateway's deadline is the one the upstream must respect.
            if name == "grpc-timeout" { continue }
            headers.add(name: name, value: value, indexing: indexing)
        }
        headers.add(name: "grpc-timeout", value: GRPCTimeout.header(remaining))
        let requestHeaders = headers
        let promise = eventLoop.makePromise(of: Channel.self)
        multiplexer.createStreamChannel(promise: promise) { stream in
            stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(handler) }
        }
        promise.futureResult.whenComplete { [eventLoop] result in
            switch result {
            case .success(let stream):
                let timer = eventLoop.scheduleTask(in: remaining) {
                    handler.fail(.timeout)
                    stream.close(promise: nil)
                }
                handler.onFinish = { timer.cancel() }
                stream.write(HTTP2Frame.FramePayload.headers(.init(headers: requestHeaders)), promise: nil)
                stream.writeAndFlush(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(request.body), endStream: true)), promise: nil)
            case .failure:
                handler.fail(bound.value.connectionFailure ?? .streamClosed("no stream could be opened"))
            }
        }
    }
}

/// Keeps connection-level errors (GOAWAY, TLS alerts) from reaching the pipeline's end: tells the
/// connection why (`failed`, before the close ends its streams), then closes.
private final class GRPCConnectionErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Never
    private let failed: @Sendable (any Error) -> Void

    init(failed: @escaping @Sendable (any Error) -> Void) { self.failed = failed }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failed(error)
        context.close(promise: nil)
    }
}

/// Collects one call's response on its stream.
final class GRPCUpstreamStreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var completion: ((GRPCCallResult) -> Void)?
    private let maxResponseBytes: Int
    private let started: NIODeadline
    private let connectionFailure: () -> GRPCCallFailure?
    private var headers: HPACKHeaders?
    private var body: ByteBuffer?
    var onFinish: (() -> Void)?

    init(
        maxResponseBytes: Int, started: NIODeadline, connectionFailure: @escaping () -> GRPCCallFailure? = { nil },
        completion: @escaping (GRPCCallResult) -> Void
    ) {
        self.maxResponseBytes = maxResponseBytes
        self.started = started
        self.connectionFailure = connectionFailure
        self.completion = completion
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            if headers == nil {
                headers = frame.headers
                if frame.endStream { finish(context: context, trailers: nil) }
            } else {
                finish(context: context, trailers: frame.headers)
            }
        case .data(let frame):
            guard case .byteBuffer(var bytes) = frame.data else { return }
            if (body?.readableBytes ?? 0) + bytes.readableBytes > maxResponseBytes {
                fail(.tooLarge(maxResponseBytes))
                context.close(promise: nil)
                return
            }
            if body == nil { body = bytes } else { body!.writeBuffer(&bytes) }
            if frame.endStream { finish(context: context, trailers: HPACKHeaders()) }
        case .rstStream(let code):
            fail(.streamClosed("reset by the upstream (\(code))"))
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(connectionFailure() ?? .streamClosed("stream closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let reason = TLSFailure.reason(error) { fail(.tlsFailed(reason)) } else { fail(connectionFailure() ?? .streamClosed("HTTP/2 stream error")) }
        context.close(promise: nil)
    }

    func fail(_ failure: GRPCCallFailure) {
        guard let completion else { return }
        self.completion = nil
        onFinish?()
        completion(GRPCCallResult(failure: failure, latencyMicros: micros))
    }

    private func finish(context: ChannelHandlerContext, trailers: HPACKHeaders?) {
        guard let completion, let headers else { return }
        self.completion = nil
        onFinish?()
        let response = GRPCCallResponse(headers: headers, body: body ?? context.channel.allocator.buffer(capacity: 0), trailers: trailers)
        completion(GRPCCallResult(response: response, latencyMicros: micros))
    }

    private var micros: Int64 { (NIODeadline.now() - started).nanoseconds / 1000 }
}
