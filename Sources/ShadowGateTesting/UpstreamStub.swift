import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An in-process HTTP model server on 127.0.0.1 for tests, like async-http-client's `HTTPBin`.
///
/// It answers by its current ``Behavior`` (which a test may change at any time), records every
/// request it received, and counts the TCP connections it accepted.
public final class UpstreamStub: Sendable {
    /// How the stub answers.
    public enum Behavior: Sendable {
        /// 200 with this JSON body.
        case json(String)
        /// Answers from the request: a closure gets the request and returns status and body.
        case dynamic(@Sendable (ReceivedRequest) -> (status: Int, body: String))
        /// Waits, then behaves as the wrapped behavior.
        indirect case delayed(milliseconds: Int64, then: Behavior)
        /// Holds the request until the test opens `gate`, then behaves as the wrapped behavior.
        indirect case held(StubGate, then: Behavior)
        /// A status with a JSON error body.
        case status(Int)
        /// 200 with a body that is not JSON.
        case garbage
        /// Reads the request and never answers (a hung model server); the connection stays open.
        case hang
    }

    /// A request as the stub saw it.
    public struct ReceivedRequest: Sendable {
        public var method: String
        public var uri: String
        public var headers: [(String, String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        public var bodyString: String { String(decoding: body, as: UTF8.self) }
    }

    final class Core: Sendable {
        struct State {
            var behavior: Behavior
            var requests: [ReceivedRequest] = []
            var connections = 0
        }
        let state: Mutex<State>
        init(_ behavior: Behavior) { state = Mutex(State(behavior: behavior)) }
    }

    private let core: Core
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    public let port: Int

    /// Starts a stub on a free loopback port, or on `port` (to come back where a stopped stub was);
    /// with `tls`, it speaks HTTPS (see ``TestCertificates``). `sharesPort` sets SO_REUSEPORT (see
    /// ``RefusingPort/init(port:sharedWithListeners:)``).
    public init(_ behavior: Behavior, port: Int = 0, tls: NIOSSLContext? = nil, sharesPort: Bool = false) async throws {
        let core = Core(behavior)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: sharesPort ? 1 : 0)
            .childChannelInitializer { channel in
                core.state.withLock { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StubHandler(core: core))
                }
            }
        do {
            self.channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
        } catch {
            // The port is taken (a test coming back to a stopped stub's port): release the loop.
            try? await group.shutdownGracefully()
            throw error
        }
        self.port = channel.localAddress!.port!
        self.core = core
        self.group = group
    }

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    public func setBehavior(_ behavior: Behavior) { core.state.withLock { $0.behavior = behavior } }
    public var requests: [ReceivedRequest] { core.state.withLock { $0.requests } }
    public var connectionCount: Int { core.state.withLock { $0.connections } }

    private let stopped = Mutex(false)

    /// Stops listening and releases the event loop. Safe to call more than once.
    public func stop() async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Answers one stub request at a time.
final class StubHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: UpstreamStub.Core
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(core: UpstreamStub.Core) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let part):
            body.append(contentsOf: part.readableBytesView)
        case .end:
            guard let head else { return }
            let request = UpstreamStub.ReceivedRequest(
                method: head.method.rawValue, uri: head.uri,
                headers: head.headers.map { ($0.name, $0.value) }, body: body)
            let behavior = core.state.withLock { state in
                state.requests.append(request)
                return state.behavior
            }
            answer(behavior, request: request, keepAlive: head.isKeepAlive, context: context)
        }
    }

    private func answer(_ behavior: UpstreamStub.Behavior, request: UpstreamStub.ReceivedRequest, keepAlive: Bool, context: ChannelHandlerContext) {
        switch behavior {
        case .json(let text):
            send(status: 200, body: text, contentType: "application/json", keepAlive: keepAlive, context: context)
        case .dynamic(let make):
            let (status, text) = make(request)
            send(status: status, body: text, contentType: "application/json", keepAlive: keepAlive, context: context)
        case .status(let code):
            send(status: code, body: "{\"error\":\"stub status \(code)\"}", contentType: "application/json", keepAlive: keepAlive, context: context)
        case .garbage:
            send(status: 200, body: "<html>not json at all", contentType: "text/html", keepAlive: keepAlive, context: context)
        case .hang:
            return
        case .held(let gate, let then):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            gate.whenOpen {
                loop.execute {
                    let (handler, context) = loopBound.value
                    guard context.channel.isActive else { return }
                    handler.answer(then, request: request, keepAlive: keepAlive, context: context)
                }
            }
        case .delayed(let ms, let then):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(ms)) {
                let (handler, context) = loopBound.value
                guard context.channel.isActive else { return }
                handler.answer(then, request: request, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func send(status: Int, body text: String, contentType: String, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(text.utf8.count))
        headers.add(name: "x-stub", value: "1")
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if !keepAlive { context.close(promise: nil) }
    }
}
