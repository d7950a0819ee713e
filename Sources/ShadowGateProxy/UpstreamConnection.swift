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

/// Writes one request at a time as bytes and frames its response (``UpstreamResponseParser``), up to
/// a size cap, then reports it to its callback. It is the whole HTTP layer of an upstream connection
/// (behind TLS for `https://`): no NIO HTTP codec, one write per request.
///
/// The connection is not reused (`mustClose`) after a failure, a response that says to close or is
/// read until close, or bytes beyond the response (an upstream that answers more than it was asked).
/// Confined to its channel's event loop (hence `@unchecked Sendable`).
final class UpstreamConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var parser = UpstreamResponseParser()
    /// Bytes read but not yet framed (a response split over reads).
    private var received: ByteBuffer?
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
        received = nil
        parser.expectResponse(toHEAD: request.method == .HEAD, maxBodyBytes: maxResponseBytes)
        let (head, bodyIncluded) = request.encodedHead(allocator: context.channel.allocator)
        if !bodyIncluded, let body = request.body {
            context.write(wrapOutboundOut(head), promise: nil)
            context.writeAndFlush(wrapOutboundOut(body), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(head), promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard parser.isExpecting else {
            // Nothing was asked: an upstream that talks out of turn is not trusted with another exchange.
            mustClose = true
            context.close(promise: nil)
            return
        }
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        var parsed: UpstreamResponseParser.Parsed?
        do throws(UpstreamResponseParser.Failure) {
            parsed = try parser.parse(&received!)
        } catch {
            received = nil
            switch error {
            case .tooLarge: finish(.failure(.responseTooLarge(limit: maxResponseBytes)))
            case .malformed(let reason): finish(.failure(.malformedResponse(reason)))
            }
            context.close(promise: nil)
            return
        }
        guard let keepAlive = parsed?.keepAlive else {
            if received!.readableBytes == 0 { received = nil }
            return
        }
        if !keepAlive || received!.readableBytes > 0 { mustClose = true }
        received = nil
        // The callback may send the next request on this connection at once: state is reset before it runs.
        finish(.success(parsed.take()!.takeResponse()))
    }

    func channelInactive(context: ChannelHandlerContext) {
        mustClose = true
        if let parsed = parser.inputEnded() {
            // A body delimited by the close is complete now.
            received = nil
            finish(.success(parsed.response))
        } else {
            finish(.failure(.connectionClosed))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        mustClose = true
        if let reason = TLSFailure.reason(error) {
            finish(.failure(.tlsFailed(reason)))
        } else {
            finish(.failure(.connectionClosed))
        }
        context.close(promise: nil)
    }

    private func finish(_ result: consuming Result<UpstreamResponse, UpstreamFailure>) {
        guard let completion else { return }
        self.completion = nil
        if case .failure = result { mustClose = true }
        completion(consume result)
    }
}
