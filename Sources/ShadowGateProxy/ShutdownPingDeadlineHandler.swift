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
/// its acknowledgement (see ``StateMachine``). Once the acknowledgement came, the management handler
/// closes the connection as before (when its streams are answered).
final class ShutdownPingDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let bound: TimeAmount
    private var machine = StateMachine()
    private var deadline: Scheduled<Void>?

    init(bound: TimeAmount) { self.bound = bound }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        perform(machine.frameWritten(unwrapOutboundIn(data)), context: context)
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.frameRead(unwrapInboundIn(data)), context: context)
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(machine.closed(), context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        perform(machine.closed(), context: context)
    }

    private func perform(_ action: StateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .armDeadline:
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: bound) { loopBound.value.close(promise: nil) }
        case .cancelDeadline:
            deadline?.cancel()
            deadline = nil
        }
    }
}
