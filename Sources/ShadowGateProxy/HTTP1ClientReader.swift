import NIOCore
import NIOHTTP1

/// The front of an HTTP/1 client connection: frames its bytes into requests with
/// ``HTTP1RequestDecoder`` and hands each part straight to the connection's
/// ``GatewayConnectionHandler``, which sits right behind it.
///
/// It does the work of NIO's `ByteToMessageHandler` around the decoder, and of a bytes observer before
/// it, in one pipeline step: a request's head, body and end reach the connection as calls, not as
/// three `channelRead`s through the pipeline (issue 14's profile: a handler step per part cost more
/// than the framing itself).
///
/// Promises, as before the two were one:
/// - every read is first told to the connection (``GatewayConnectionHandler/bytesReceived(_:)``), so
///   the header timeout starts at a request's first byte; bytes the connection no longer wants (it is
///   closing or lingering) are dropped undecoded;
/// - bytes are kept until they make a whole head, body piece or chunk line; a read that ends requests
///   leaves nothing behind, so the common read is decoded in place, without a copy;
/// - a framing error reaches the connection as an `HTTPParserError` through `errorCaught` (it answers
///   400 and closes); bytes after it are dropped, never decoded;
/// - once the channel is inactive nothing more is decoded, even when it closed while a read was being
///   framed (a close fires `channelInactive` at once, from inside the connection's answer); a request
///   cut off by the close is dropped without an error, as there is no one left to answer.
final class HTTP1ClientReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: GatewayConnectionHandler
    private var decoder = HTTP1RequestDecoder()
    /// Bytes read and not yet framed (a head, chunk line or body still arriving).
    private var pending: ByteBuffer?
    private var failed = false
    private var inactive = false

    init(connection: GatewayConnectionHandler) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard connection.bytesReceived(bytes.readableBytes), !failed, !inactive else { return }
        if pending != nil {
            pending!.writeBuffer(&bytes)
            bytes = pending.take()!
        }
        let connection = self.connection
        do {
            while !inactive, try decoder.decode(&bytes, { connection.receive($0) }) == .continue {}
        } catch {
            failed = true
            if !inactive { context.fireErrorCaught(error) }
            return
        }
        guard !inactive, bytes.readableBytes > 0 else { return }
        // A large body arriving in pieces would otherwise keep every consumed byte.
        if bytes.readerIndex >= 2048, bytes.readerIndex > bytes.readableBytes { bytes.discardReadBytes() }
        pending = bytes
    }

    func channelInactive(context: ChannelHandlerContext) {
        // May run inside `channelRead` above (the decoder is then in use): only flags and the buffer here.
        inactive = true
        pending = nil
        context.fireChannelInactive()
    }
}
