import NIOCore
import NIOHTTP1

/// An upstream answer as the NIOHTTP1 floor keeps it: status, content type and body.
struct FloorAnswer {
    var status: HTTPResponseStatus
    var contentType: String?
    var body = ByteBuffer()
}

/// NIOHTTP1 on the upstream side: NIO's request encoder and response decoder.
final class HTTPFloorExchange: FloorExchange {
    typealias InboundIn = HTTPClientResponsePart
    var onAnswer: ((FloorAnswer?) -> Void)?
    private var answer: FloorAnswer?

    func addCodec(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHTTPClientHandlers()
    }

    static func write(_ request: (HTTPRequestHead, ByteBuffer), to channel: Channel) {
        channel.write(HTTPClientRequestPart.head(request.0), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(request.1)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            answer = FloorAnswer(status: head.status, contentType: head.headers.first(name: "content-type"))
        case .body(var part):
            answer?.body.writeBuffer(&part)
        case .end:
            let done = answer
            answer = nil
            if let done { answered(done) }
        }
    }
}

/// One client connection behind NIO's HTTP/1 server pipeline: buffers a request, forwards it with
/// host, content type and length, writes the legacy answer's status, content type and body back.
final class HTTPFloorClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let upstreams: FloorUpstreams<HTTPFloorExchange>
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(upstreams: FloorUpstreams<HTTPFloorExchange>) {
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
            var headers = HTTPHeaders()
            headers.add(name: "host", value: "127.0.0.1")
            if let type = requestHead.headers.first(name: "content-type") { headers.add(name: "content-type", value: type) }
            headers.add(name: "content-length", value: String(body.readableBytes))
            let upstreamHead = HTTPRequestHead(version: .http1_1, method: requestHead.method, uri: requestHead.uri, headers: headers)
            let keepAlive = requestHead.isKeepAlive
            upstreams.forward((upstreamHead, body)) { [self] answer in
                respond(answer, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func respond(_ answer: FloorAnswer?, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        if let type = answer?.contentType { headers.add(name: "content-type", value: type) }
        let answerBody = answer?.body ?? ByteBuffer()
        headers.add(name: "content-length", value: String(answerBody.readableBytes))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: answer?.status ?? .badGateway, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(answerBody))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if !keepAlive { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
