import NIOCore
import NIOHTTP1
import ShadowGateTLS

/// One keep-alive HTTP/1.1 connection to an upstream, carrying one exchange at a time.
///
/// Confined to its pool's event loop; every method must be called there.
final class UpstreamConnection: PoolConnection, @unchecked Sendable {
    let channel: Channel
    let handler: UpstreamConnectionHandler
    /// Exchanges completed on this connection; a failure on a reused connection may be the keep-alive race.
    var completedExchanges = 0

    var isUsable: Bool { channel.isActive && !handler.mustClose }

    init(channel: Channel, handler: UpstreamConnectionHandler) {
        self.channel = channel
        self.handler = handler
    }
}

/// Reads one response at a time into a buffer, up to a size cap, and reports it to its callback.
///
/// Confined to its channel's event loop (hence `@unchecked Sendable`).
final class UpstreamConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var responseHead: HTTPResponseHead?
    private var responseBody: ByteBuffer?
    private var completion: ((Result<UpstreamResponse, UpstreamFailure>) -> Void)?
    private var maxResponseBytes = 0
    private var context: ChannelHandlerContext?
    /// Set when the connection must not be reused (peer asked to close, or a failure).
    private(set) var mustClose = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Sends a request; `completion` is called exactly once, on the event loop.
    func send(
        _ request: UpstreamRequest,
        maxResponseBytes: Int,
        completion: @escaping (Result<UpstreamResponse, UpstreamFailure>) -> Void
    ) {
        guard let context, context.channel.isActive else {
            completion(.failure(.connectionClosed))
            return
        }
        self.completion = completion
        self.maxResponseBytes = maxResponseBytes
        self.responseHead = nil
        self.responseBody = nil
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Informational answers (100 Continue) precede the real one.
            if head.status.code >= 100, head.status.code < 200, head.status.code != 101 { return }
            responseHead = head
            if !head.isKeepAlive { mustClose = true }
        case .body(var part):
            guard responseHead != nil else { return }
            let size = (responseBody?.readableBytes ?? 0) + part.readableBytes
            if size > maxResponseBytes {
                finish(.failure(.responseTooLarge(limit: maxResponseBytes)))
                context.close(promise: nil)
                return
            }
            if responseBody == nil {
                responseBody = part
            } else {
                responseBody!.writeBuffer(&part)
            }
        case .end:
            guard let head = responseHead else { return }
            let body = responseBody ?? context.channel.allocator.buffer(capacity: 0)
            responseHead = nil
            responseBody = nil
            finish(.success(UpstreamResponse(head: head, body: body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        mustClose = true
        finish(.failure(.connectionClosed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        mustClose = true
        if error is HTTPParserError {
            finish(.failure(.malformedResponse("\(error)")))
        } else if let reason = TLSFailure.reason(error) {
            finish(.failure(.tlsFailed(reason)))
        } else {
            finish(.failure(.connectionClosed))
        }
        context.close(promise: nil)
    }

    private func finish(_ result: Result<UpstreamResponse, UpstreamFailure>) {
        guard let completion else { return }
        self.completion = nil
        if case .failure = result { mustClose = true }
        completion(result)
    }
}
