#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1

/// One client connection: reads whole requests, answers them strictly in order (pipelining-safe),
/// and refuses bad input with a JSON error.
///
/// Backpressure: once `maxQueued` requests wait, it stops reading from the socket until they drain.
/// Bodies over `limits.max_body_bytes` get 413 and the connection is closed (the rest of the body is
/// not read). Malformed HTTP gets 400 and a close. Confined to the channel's event loop.
final class GatewayConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Queued {
        case request(BufferedRequest)
        case immediate(GatewayResponse)
    }

    private static let maxQueued = 16
    private let gateway: GatewayContext
    private let dispatcher: ShadowDispatcher
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// After a refusal that ends the connection, the rest of the input is ignored.
    private var ignoringInput = false
    private var queue = CircularBuffer<Queued>()
    private var busy = false
    private var quiescing = false
    private var heldRead = false
    private var isOpen = true

    init(gateway: GatewayContext, upstreams: LoopUpstreams) {
        self.gateway = gateway
        self.dispatcher = ShadowDispatcher(context: gateway, upstreams: upstreams)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ignoringInput else { return }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init),
               length > gateway.config.limits.maxBodyBytes {
                refuse(context: context, status: .payloadTooLarge, kind: "body_too_large",
                       message: "request body of \(length) bytes exceeds the limit of \(gateway.config.limits.maxBodyBytes) bytes",
                       version: requestHead.version)
                return
            }
            if requestHead.headers.first(name: "expect")?.lowercased() == "100-continue", !busy, queue.isEmpty {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: requestHead.version, status: .continue))), promise: nil)
            }
            head = requestHead
            body = nil
        case .body(var part):
            guard let requestHead = head else { return }
            let size = (body?.readableBytes ?? 0) + part.readableBytes
            if size > gateway.config.limits.maxBodyBytes {
                refuse(context: context, status: .payloadTooLarge, kind: "body_too_large",
                       message: "request body exceeds the limit of \(gateway.config.limits.maxBodyBytes) bytes",
                       version: requestHead.version)
                return
            }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let requestHead = head else { return }
            queue.append(.request(BufferedRequest(head: requestHead, body: body, receivedAtMicros: WallClock.nowMicros())))
            head = nil
            body = nil
            processNext(context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if queue.count >= Self.maxQueued {
            heldRead = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError {
            refuse(context: context, status: .badRequest, kind: "bad_request", message: "malformed HTTP request: \(error)", version: .http1_1)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            closeIfIdleAndQuiescing(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Answers with an error after whatever is already queued, then closes the connection.
    private func refuse(context: ChannelHandlerContext, status: HTTPResponseStatus, kind: String, message: String, version: HTTPVersion) {
        gateway.metrics.error(kind: kind)
        ignoringInput = true
        head = nil
        body = nil
        var response = GatewayResponse.json(JSONErrorResponse(status: status, message: message), version: version, requestID: nil)
        response.head.headers.replaceOrAdd(name: "connection", value: "close")
        queue.append(.immediate(response))
        processNext(context: context)
    }

    // MARK: Answering in order

    private func processNext(context: ChannelHandlerContext) {
        guard !busy, isOpen, let next = queue.popFirst() else { return }
        busy = true
        if heldRead, queue.count < Self.maxQueued {
            heldRead = false
            context.read()
        }
        switch next {
        case .immediate(let response):
            write(response, keepAlive: false, context: context)
        case .request(let request):
            let keepAlive = request.head.isKeepAlive
            respond(to: request) { [self] response in
                write(response, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func respond(to request: BufferedRequest, with respond: @escaping ShadowDispatcher.Respond) {
        let requestID = Self.clientRequestID(request.head) ?? dispatcher.upstreams.requestIDs.make()
        if let own = ownEndpoint(request, requestID: requestID) {
            respond(own)
            return
        }
        if request.head.uri == FeedbackHandler.path || request.head.uri.hasPrefix(FeedbackHandler.path + "?") {
            FeedbackHandler(context: gateway).handle(request, requestID: requestID, respond: respond)
            return
        }
        switch gateway.routeTable.match(uri: request.head.uri) {
        case .inference(let routeIndex):
            dispatcher.dispatch(request, routeIndex: routeIndex, requestID: requestID, respond: respond)
        case .passThrough(let routeIndex):
            dispatcher.passThrough(request, routeIndex: routeIndex, requestID: requestID, respond: respond)
        case nil:
            gateway.metrics.error(kind: "not_found")
            let uri = request.head.uri
            let path = uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
            respond(.json(
                JSONErrorResponse(status: .notFound, message: "no route matches \(request.head.method.rawValue) \(path)"),
                version: request.head.version, requestID: requestID))
        }
    }

    /// The gateway's own endpoints: health, readiness, metrics.
    private func ownEndpoint(_ request: BufferedRequest, requestID: String) -> GatewayResponse? {
        let uri = request.head.uri
        let path = uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri[...]
        switch path {
        case "/healthz", "/v2/health/live":
            return .text("{\"live\":true}\n", contentType: "application/json", version: request.head.version)
        case "/readyz", "/v2/health/ready":
            if gateway.isDraining {
                return .json(JSONErrorResponse(status: .serviceUnavailable, message: "gateway is shutting down"), version: request.head.version, requestID: requestID)
            }
            return .text("{\"ready\":true}\n", contentType: "application/json", version: request.head.version)
        case "/metrics":
            return .text(gateway.renderMetrics(), contentType: "text/plain; version=0.0.4", version: request.head.version)
        default:
            return nil
        }
    }

    private func write(_ response: GatewayResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        guard isOpen else { return }
        var head = response.head
        // While quiescing, queued requests are still answered; the last answer closes the connection.
        let keepOpen = keepAlive && !ignoringInput && !(quiescing && queue.isEmpty)
        if !keepOpen {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        } else if head.version == .http1_0 {
            head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        busy = false
        if !keepOpen {
            isOpen = false
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
            return
        }
        processNext(context: context)
        closeIfIdleAndQuiescing(context: context)
    }

    private func closeIfIdleAndQuiescing(context: ChannelHandlerContext) {
        guard quiescing, isOpen, !busy, queue.isEmpty, head == nil else { return }
        isOpen = false
        context.close(promise: nil)
    }

    /// The client's `x-request-id` when it is usable (1–128 visible ASCII characters).
    static func clientRequestID(_ head: HTTPRequestHead) -> String? {
        guard let given = head.headers.first(name: "x-request-id"), !given.isEmpty, given.utf8.count <= 128,
              given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return given
    }
}
