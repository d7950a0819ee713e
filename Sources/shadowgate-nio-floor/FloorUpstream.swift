import NIOCore
import NIOPosix

/// How one framing talks to an upstream: the handler that reads its answers, and how a request is written.
/// `SendableMetatype`: the type itself is named inside NIO's Sendable closures (the instances stay on the loop).
protocol FloorExchange: ChannelInboundHandler, SendableMetatype {
    associatedtype Request
    associatedtype Answer
    init()
    /// Called once with the answer, or nil when the connection closed first.
    var onAnswer: ((Answer?) -> Void)? { get set }
    func addCodec(to pipeline: ChannelPipeline.SynchronousOperations) throws
    static func write(_ request: Request, to channel: Channel)
}

extension FloorExchange {
    /// Hands the answer (nil: none came) to the waiting callback, once.
    func answered(_ answer: Answer?) {
        let callback = onAnswer
        onAnswer = nil
        callback?(answer)
    }

    func channelInactive(context: ChannelHandlerContext) { answered(nil) }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

/// Keep-alive connections to one upstream, owned by the event loop: idle ones on a stack, one
/// request in flight on each, a new connection when none is idle.
final class FloorUpstream<Exchange: FloorExchange>: @unchecked Sendable {
    private let loop: EventLoop
    private let port: Int
    private var idle: [(Channel, Exchange)] = []
    private(set) var inFlight = 0

    init(loop: EventLoop, port: Int) {
        self.loop = loop
        self.port = port
    }

    func send(_ request: Exchange.Request, _ done: @escaping (Exchange.Answer?) -> Void) {
        inFlight += 1
        if let (channel, handler) = idle.popLast(), channel.isActive {
            exchange(channel, handler, request, done)
            return
        }
        // Everything here stays on the loop; NIOLoopBound carries it through NIO's Sendable closures.
        let pending = NIOLoopBound((handler: Exchange(), request: request, done: done), eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try pending.value.handler.addCodec(to: channel.pipeline.syncOperations)
                    try channel.pipeline.syncOperations.addHandler(pending.value.handler)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .whenComplete { result in
                let p = pending.value
                switch result {
                case .success(let channel): self.exchange(channel, p.handler, p.request, p.done)
                case .failure: self.inFlight -= 1; p.done(nil)
                }
            }
    }

    private func exchange(_ channel: Channel, _ handler: Exchange, _ request: Exchange.Request, _ done: @escaping (Exchange.Answer?) -> Void) {
        handler.onAnswer = { answer in
            self.inFlight -= 1
            if answer != nil, channel.isActive { self.idle.append((channel, handler)) }
            done(answer)
        }
        Exchange.write(request, to: channel)
    }
}

/// The loop's two upstreams, shared by every client connection on it; the learner's only in mirror mode.
final class FloorUpstreams<Exchange: FloorExchange>: @unchecked Sendable {
    let legacy: FloorUpstream<Exchange>
    let learner: FloorUpstream<Exchange>?

    init(loop: EventLoop, legacyPort: Int, learnerPort: Int?) {
        legacy = FloorUpstream(loop: loop, port: legacyPort)
        learner = learnerPort.map { FloorUpstream(loop: loop, port: $0) }
    }

    /// Sends `request` to the legacy model and, at most 256 in flight, mirrors it to the learner.
    func forward(_ request: Exchange.Request, _ answered: @escaping (Exchange.Answer?) -> Void) {
        legacy.send(request, answered)
        if let learner, learner.inFlight < 256 { learner.send(request) { _ in } }
    }
}
