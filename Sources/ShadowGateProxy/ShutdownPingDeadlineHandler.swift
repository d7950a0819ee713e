import NIOCore
import NIOHTTP2

/// Closes an h2 client connection whose client does not acknowledge the graceful-shutdown PING in time.
///
/// `NIOHTTP2ServerConnectionManagementHandler` shuts a connection down (idle timeout, or the drain's
/// `ChannelShouldQuiesceEvent`) by sending GOAWAY and a PING, and goes on only when the PING's
/// acknowledgement comes; its grace timer starts after that too. A client that never acknowledges
/// (its HTTP/2 state broke, or it stopped reading) would keep the connection, and its place in
/// `limits.max_connections`, forever. This handler sits between the HTTP/2 handler and the management
/// handler, sees the shutdown PING go out, and closes the connection when `bound` passes without
/// its acknowledgement. Once the acknowledgement came, the management handler closes the connection
/// as before (when its streams are answered).
final class ShutdownPingDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let bound: TimeAmount
    private var sawShutdownGoAway = false
    /// The shutdown PING's payload, while its acknowledgement is awaited.
    private var awaitedPing: HTTP2PingData?
    private var deadline: Scheduled<Void>?

    init(bound: TimeAmount) { self.bound = bound }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        switch frame.payload {
        case .goAway(let lastStreamID, _, _) where frame.streamID == .rootStream && lastStreamID == .maxID:
            // The first GOAWAY of a graceful shutdown; its PING follows.
            sawShutdownGoAway = true
        case .ping(let ping, ack: false) where sawShutdownGoAway && deadline == nil:
            awaitedPing = ping
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: bound) { loopBound.value.close(promise: nil) }
        default:
            break
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .ping(let ping, ack: true) = unwrapInboundIn(data).payload, ping == awaitedPing {
            awaitedPing = nil
            deadline?.cancel()
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }
}
