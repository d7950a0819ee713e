// `Scripts/bench.sh` fronts `nio-floor-proxy` and `nio-floor-mirror`: the least an HTTP/1 proxy on
// SwiftNIO does, run side by side with nginx and the gateway so the gateway's cost can be split into
// what the stack costs (this program) and what the gateway's own work costs (routing, flags,
// adapters, pair records, metrics, limits, timeouts).
//
// What it does, and nothing more: one event loop; NIO's HTTP/1 server pipeline; per upstream a stack
// of idle keep-alive connections with one request in flight each (NIO's request encoder and
// response decoder); the client gets the legacy answer's status, content type and body; in mirror
// mode the same request goes to the learner and its answer is dropped (at most 256 in flight, the
// rest are not sent). No timeouts, no limits, no parsing of bodies: it is a measuring stick, not a
// gateway, and it is not fit to front anything.
//
// With `--bytes` it does even less: no NIOHTTP1 at all. Requests and answers are framed by scanning
// the bytes for the end of the head and a content-length (no chunked bodies), and forwarded verbatim;
// that is the lowest a proxy on NIO's channels can cost here, whatever its HTTP code.
//
// usage: shadowgate-nio-floor [--bytes] LISTEN_PORT LEGACY_PORT [LEARNER_PORT]
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

var arguments = Array(CommandLine.arguments.dropFirst())
let bytesFraming = arguments.first == "--bytes"
if bytesFraming { arguments.removeFirst() }
guard arguments.count == 2 || arguments.count == 3,
      let listenPort = Int(arguments[0]), let legacyPort = Int(arguments[1])
else {
    print("usage: shadowgate-nio-floor [--bytes] LISTEN_PORT LEGACY_PORT [LEARNER_PORT]")
    exit(2)
}
let learnerPort = arguments.count == 3 ? Int(arguments[2]) : nil

/// An upstream answer as the floor keeps it: status, content type and body.
struct FloorAnswer {
    var status: HTTPResponseStatus
    var contentType: String?
    var body: ByteBuffer
}

/// Reads one answer at a time off an upstream connection and hands it to the waiting callback.
final class FloorUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    var onAnswer: ((Result<FloorAnswer, Error>) -> Void)?
    private var answer: FloorAnswer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            answer = FloorAnswer(status: head.status, contentType: head.headers.first(name: "content-type"), body: ByteBuffer())
        case .body(var part):
            answer?.body.writeBuffer(&part)
        case .end:
            let done = answer.map { Result<FloorAnswer, Error>.success($0) }
            answer = nil
            let callback = onAnswer
            onAnswer = nil
            if let done { callback?(done) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let callback = onAnswer
        onAnswer = nil
        callback?(.failure(ChannelError.ioOnClosedChannel))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Keep-alive connections to one upstream, owned by the event loop: idle ones on a stack.
final class FloorUpstream: @unchecked Sendable {
    private let loop: EventLoop
    private let port: Int
    private var idle: [(Channel, FloorUpstreamHandler)] = []
    private(set) var inFlight = 0

    init(loop: EventLoop, port: Int) {
        self.loop = loop
        self.port = port
    }

    func send(_ head: HTTPRequestHead, _ body: ByteBuffer, _ done: @escaping (Result<FloorAnswer, Error>) -> Void) {
        inFlight += 1
        if let (channel, handler) = idle.popLast(), channel.isActive {
            exchange(channel, handler, head, body, done)
            return
        }
        // Everything here stays on the loop; NIOLoopBound carries it through NIO's Sendable closures.
        let pending = NIOLoopBound((handler: FloorUpstreamHandler(), head: head, body: body, done: done), eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(pending.value.handler)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .whenComplete { result in
                let p = pending.value
                switch result {
                case .success(let channel): self.exchange(channel, p.handler, p.head, p.body, p.done)
                case .failure(let error): self.inFlight -= 1; p.done(.failure(error))
                }
            }
    }

    private func exchange(_ channel: Channel, _ handler: FloorUpstreamHandler, _ head: HTTPRequestHead, _ body: ByteBuffer,
                          _ done: @escaping (Result<FloorAnswer, Error>) -> Void) {
        handler.onAnswer = { result in
            self.inFlight -= 1
            if case .success = result, channel.isActive { self.idle.append((channel, handler)) }
            done(result)
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }
}

/// The loop's two upstreams, shared by every client connection on it.
final class FloorUpstreams: @unchecked Sendable {
    let legacy: FloorUpstream
    let learner: FloorUpstream?

    init(loop: EventLoop, legacyPort: Int, learnerPort: Int?) {
        legacy = FloorUpstream(loop: loop, port: legacyPort)
        learner = learnerPort.map { FloorUpstream(loop: loop, port: $0) }
    }
}

/// One client connection: buffers a request, forwards it, writes the legacy answer back.
final class FloorClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let upstreams: FloorUpstreams
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(upstreams: FloorUpstreams) {
        self.upstreams = upstreams
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let requestHead = head else { return }
            head = nil
            forward(requestHead, context: context)
        }
    }

    private func forward(_ requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "host", value: "127.0.0.1")
        if let type = requestHead.headers.first(name: "content-type") { headers.add(name: "content-type", value: type) }
        headers.add(name: "content-length", value: String(body.readableBytes))
        let upstreamHead = HTTPRequestHead(version: .http1_1, method: requestHead.method, uri: requestHead.uri, headers: headers)
        let keepAlive = requestHead.isKeepAlive
        upstreams.legacy.send(upstreamHead, body) { [self] result in
            respond(result, keepAlive: keepAlive, context: context)
        }
        if let learner = upstreams.learner, learner.inFlight < 256 {
            learner.send(upstreamHead, body) { _ in }
        }
    }

    private func respond(_ result: Result<FloorAnswer, Error>, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        var status = HTTPResponseStatus.badGateway
        var answerBody = ByteBuffer()
        if case .success(let answer) = result {
            status = answer.status
            answerBody = answer.body
            if let type = answer.contentType { headers.add(name: "content-type", value: type) }
        }
        headers.add(name: "content-length", value: String(answerBody.readableBytes))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(answerBody))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if !keepAlive { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let upstreams = FloorUpstreams(loop: loop, legacyPort: legacyPort, learnerPort: learnerPort)
let byteUpstreams = ByteUpstreams(loop: loop, legacyPort: legacyPort, learnerPort: learnerPort)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .serverChannelOption(.maxMessagesPerRead, value: 256)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            if bytesFraming {
                try channel.pipeline.syncOperations.addHandler(ByteClientHandler(upstreams: byteUpstreams))
            } else {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
                try channel.pipeline.syncOperations.addHandler(FloorClientHandler(upstreams: upstreams))
            }
        }
    }
    .bind(host: "127.0.0.1", port: listenPort)
    .wait()
print("shadowgate-nio-floor\(bytesFraming ? " --bytes" : "") listening on 127.0.0.1:\(listenPort) (legacy :\(legacyPort)\(learnerPort.map { ", learner :\($0)" } ?? ""))")
try server.closeFuture.wait()
