import NIOCore
import NIOHPACK
import NIOHTTP2

/// One client stream on the gRPC listener: collects the call (headers and the whole unary body,
/// up to the message size limit), hands it to the dispatcher, and writes the answer it gets back.
///
/// Confined to the stream channel's event loop (hence `@unchecked Sendable`).
final class GRPCServerStreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let dispatcher: GRPCDispatcher
    private var headers: HPACKHeaders?
    private var body: ByteBuffer?
    private var refused = false
    private var answered = false

    init(dispatcher: GRPCDispatcher) {
        self.dispatcher = dispatcher
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused, !answered else { return }
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            if headers == nil {
                headers = frame.headers
            }
            if frame.endStream { requestComplete(context: context) }
        case .data(let frame):
            guard case .byteBuffer(var bytes) = frame.data else { return }
            let size = (body?.readableBytes ?? 0) + bytes.readableBytes
            // One length-prefixed message per unary call: its 5-byte prefix plus the limit.
            if size > dispatcher.maxMessageBytes + 5 {
                refused = true
                let answer = GRPCAnswer.status(GRPCStatus(GRPCStatus.resourceExhausted,
                    "request message larger than grpc.max_message_bytes (\(dispatcher.maxMessageBytes) bytes)"))
                dispatcher.count(answer, route: "", path: headers?.first(name: ":path") ?? "")
                respond(context: context, answer)
                return
            }
            if body == nil { body = bytes } else { body!.writeBuffer(&bytes) }
            if frame.endStream { requestComplete(context: context) }
        default:
            break
        }
    }

    private func requestComplete(context: ChannelHandlerContext) {
        guard let headers else { return }
        let body = self.body ?? context.channel.allocator.buffer(capacity: 0)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        dispatcher.dispatch(headers: headers, body: body, eventLoop: context.eventLoop) { answer in
            let (handler, context) = loopBound.value
            handler.respond(context: context, answer)
        }
    }

    private func respond(context: ChannelHandlerContext, _ answer: GRPCAnswer) {
        guard !answered else { return }
        answered = true
        switch answer {
        case .status(let status):
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: status.trailersOnly, endStream: true))), promise: nil)
        case .response(var response):
            response.headers.add(name: "x-shadowgate-served-by", value: response.servedBy)
            if let trailers = response.call.trailers {
                context.write(wrapOutboundOut(.headers(.init(headers: response.call.headers))), promise: nil)
                if response.call.body.readableBytes > 0 {
                    context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(response.call.body)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: response.headers, endStream: true))), promise: nil)
            }
        }
    }
}

/// What the client gets: the serving model's call, or the gateway's own status.
enum GRPCAnswer {
    case response(GRPCForwardedResponse)
    case status(GRPCStatus)
}

struct GRPCForwardedResponse {
    var call: GRPCCallResponse
    var servedBy: String
    /// The response headers as sent to the client.
    var headers: HPACKHeaders {
        get { call.headers }
        set { call.headers = newValue }
    }
}
