import NIOCore
import NIOHTTP1

/// One client connection: reads whole requests, answers them strictly in order (pipelining-safe),
/// and refuses bad input with a JSON error.
///
/// Backpressure: once `maxQueued` requests wait, it stops reading from the socket until they drain.
/// Bodies over `limits.max_body_bytes` get 413 and the connection is closed (the rest of the body is
/// not parsed). Malformed HTTP gets 400 and a close. A client slower than `limits.client_header_timeout_ms`
/// (head) or `limits.client_body_timeout_ms` (body) gets 408 and a close; a keep-alive connection idle for
/// `limits.client_idle_timeout_ms` is closed. The lifetime is ``StateMachine``; this class executes its
/// actions. Confined to the channel's event loop.
///
/// With `lingeringClose` (HTTP/1 connections) every close that follows an answer is a lingering close:
/// the answer, then FIN, then the client's further bytes are read and dropped until it closes, for at
/// most `limits.client_linger_timeout_ms` or ``lingerMaxBytes`` (see ``StateMachine``), so a client
/// still sending reads the answer instead of a TCP reset. Shutdown ends a linger at once.
final class GatewayConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum Queued {
        case request(BufferedRequest)
        /// A refusal; `method` is the refused request's when its head was read (a HEAD gets no body).
        case immediate(GatewayResponse, method: HTTPMethod?)
    }

    static let maxQueued = 16
    /// Most bytes a lingering connection drops before it closes anyway.
    static let lingerMaxBytes = 1 << 20
    private let gateway: GatewayContext
    private let dispatcher: ShadowDispatcher
    private var machine: StateMachine<Queued>
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Answers are written as bytes (``ClientResponseEncoding``): the HTTP/1 pipeline has no response encoder.
    private let encodesResponses: Bool

    /// - Parameter encodesResponses: write answers as HTTP/1 bytes (the pipeline has a request decoder
    ///   but no response encoder) instead of `HTTPServerResponsePart`s (h2 streams, tests).
    /// - Parameter lingeringClose: half-close and linger after the last answer instead of closing at
    ///   once (HTTP/1 connections; an h2 stream's end is HTTP/2's business).
    init(gateway: GatewayContext, upstreams: LoopUpstreams, lingeringClose: Bool = false, encodesResponses: Bool = false) {
        self.gateway = gateway
        self.encodesResponses = encodesResponses
        self.dispatcher = ShadowDispatcher(context: gateway, upstreams: upstreams)
        let limits = gateway.config.limits
        self.machine = StateMachine(
            timeouts: .init(
                header: .milliseconds(Int64(limits.clientHeaderTimeoutMillis)),
                body: .milliseconds(Int64(limits.clientBodyTimeoutMillis)),
                idle: .milliseconds(Int64(limits.clientIdleTimeoutMillis))),
            maxQueued: Self.maxQueued,
            linger: lingeringClose && limits.clientLingerTimeoutMillis > 0
                ? .init(timeout: .milliseconds(Int64(limits.clientLingerTimeoutMillis)), maxBytes: Self.lingerMaxBytes)
                : nil,
            now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The loop's clock (virtual in an EmbeddedChannel): the connection's life starts now.
        machine = StateMachine(timeouts: machine.timeouts, maxQueued: Self.maxQueued, linger: machine.linger, now: context.eventLoop.now)
        if let at = machine.initialTimer { armTimer(at, context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    // MARK: Reading

    /// Raw bytes arrived (seen by ``HTTP1ClientReader`` before it frames them): a head has begun.
    /// Returns false when they are to be dropped instead of decoded (the connection is closing or lingering).
    func bytesReceived(_ count: Int) -> Bool {
        guard let context else { return true }
        if machine.discardsInput {
            perform(machine.bytesDiscarded(count), context: context)
            return false
        }
        perform(machine.bytesReceived(now: context.eventLoop.now), context: context)
        return true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data), context: context)
    }

    /// A request part framed by ``HTTP1ClientReader``, the handler in front of this one.
    func receive(_ part: HTTPServerRequestPart) {
        guard let context else { return }
        receive(part, context: context)
    }

    private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        guard machine.input != .ignoring, !machine.isClosed else { return }
        switch part {
        case .head(let requestHead):
            perform(machine.headReceived(now: context.eventLoop.now), context: context)
            // A connection accepted during a drain (a probe, a balancer that has not noticed yet) is
            // answered, then closed: quiescing with a head in hand never closes before the answer.
            if gateway.isDraining, !machine.isQuiescing { perform(machine.quiesce(), context: context) }
            if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init),
               length > gateway.config.limits.maxBodyBytes {
                refuse(context: context, status: .payloadTooLarge, kind: "body_too_large",
                       message: "request body of \(length) bytes exceeds the limit of \(gateway.config.limits.maxBodyBytes) bytes",
                       version: requestHead.version, method: requestHead.method)
                return
            }
            if requestHead.headers.first(name: "expect")?.lowercased() == "100-continue", machine.phase == .reading {
                if encodesResponses {
                    context.writeAndFlush(NIOAny(ClientResponseEncoding.continueHead(version: requestHead.version, allocator: context.channel.allocator)), promise: nil)
                } else {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: requestHead.version, status: .continue))), promise: nil)
                }
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
            let request = BufferedRequest(head: requestHead, body: body, receivedAtMicros: WallClock.nowMicros())
            head = nil
            body = nil
            perform(machine.requestReceived(.request(request), now: context.eventLoop.now), context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if machine.discardsInput {
            // The last answer is out: what the decoder still makes of earlier bytes (at EOF, say) is not
            // answered; any other error (the socket's, TLS's) ends the connection.
            if !(error is ByteToMessageDecoderError || error is HTTPParserError) { context.close(promise: nil) }
            return
        }
        if machine.input == .ignoring, error is ByteToMessageDecoderError {
            // Bytes that came after a malformed request (the decoder reports each later read). The
            // refusal is queued behind answers still due and closes the connection once written;
            // closing now would drop those answers (found by Fuzz/http_campaign.py).
            return
        }
        if error is HTTPParserError {
            // The parser's detail is for the operator; the client gets a plain sentence.
            gateway.logger.debug("malformed client request", metadata: ["error": "\(error)"])
            refuse(context: context, status: .badRequest, kind: "bad_request", message: "malformed HTTP request", version: .http1_1)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        machine.closed()
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            perform(machine.quiesce(), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Answers with an error after whatever is already queued, then closes the connection.
    /// `method` is the refused request's (by default the head being read, if any).
    private func refuse(
        context: ChannelHandlerContext, status: HTTPResponseStatus, kind: String, message: String, version: HTTPVersion,
        method: HTTPMethod? = nil
    ) {
        gateway.metrics.error(kind: kind)
        let refusedMethod = method ?? head?.method
        head = nil
        body = nil
        var response = GatewayResponse.json(JSONErrorResponse(status: status, message: message), version: version, requestID: nil)
        response.head.headers.replaceOrAdd(name: "connection", value: "close")
        perform(machine.refuse(.immediate(response, method: refusedMethod)), context: context)
    }

    // MARK: Executing the machine's actions

    private func perform(_ action: StateMachine<Queued>.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .answer(let item, _):
            answer(item, context: context)
        case .armTimer(let deadline):
            armTimer(deadline, context: context)
        case .refuseTimedOut(let kind):
            let message = kind == .header
                ? "request head not received within \(gateway.config.limits.clientHeaderTimeoutMillis) ms"
                : "request body not received within \(gateway.config.limits.clientBodyTimeoutMillis) ms"
            refuse(context: context, status: .requestTimeout, kind: "client_timeout", message: message, version: head?.version ?? .http1_1)
        case .closeOutput(let deadline):
            timer?.cancel()
            armTimer(deadline, context: context)
            let closed = context.eventLoop.makePromise(of: Void.self)
            context.close(mode: .output, promise: closed)
            // A transport that cannot half-close: close it all, as without lingering.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            closed.futureResult.whenFailure { _ in bound.value.close(promise: nil) }
        case .close:
            context.close(promise: nil)
        }
    }

    private func armTimer(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let handler = bound.value
            handler.timer = nil
            guard let context = handler.context else { return }
            handler.perform(handler.machine.timerFired(now: context.eventLoop.now), context: context)
        }
    }

    private func answer(_ item: Queued, context: ChannelHandlerContext) {
        switch item {
        case .immediate(let response, let method):
            write(response, keepAlive: false, requestMethod: method, context: context)
        case .request(let request):
            // After a CONNECT the parser no longer frames what follows as requests: close.
            let keepAlive = request.head.isKeepAlive && request.head.method != .CONNECT
            respond(to: request) { [self] response in
                write(response, keepAlive: keepAlive, requestMethod: request.head.method, context: context)
            }
        }
    }

    private func respond(to request: BufferedRequest, with respond: @escaping ShadowDispatcher.Respond) {
        let requestID = Self.clientRequestID(request.head) ?? dispatcher.upstreams.requestIDs.make()
        if request.head.method == .CONNECT {
            // A gateway to models, not a tunnel: a proxied CONNECT answered 2xx would tell the client
            // a tunnel is open (found by the HTTP fuzz campaign).
            gateway.metrics.error(kind: "method_not_allowed")
            var refusal = GatewayResponse.json(
                JSONErrorResponse(status: .methodNotAllowed, message: "CONNECT is not supported: this gateway does not open tunnels"),
                version: request.head.version, requestID: requestID)
            refusal.head.headers.replaceOrAdd(name: "allow", value: "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH")
            respond(refusal)
            return
        }
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
        let path = uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { uri[..<$0] } ?? uri[...]
        // Every request passes here: the longest own path has 16 bytes, so longer ones (inference paths) skip the comparisons.
        guard path.utf8.count <= 16 else { return nil }
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

    private func write(_ response: GatewayResponse, keepAlive: Bool, requestMethod: HTTPMethod?, context: ChannelHandlerContext) {
        guard !machine.isClosed else { return }
        // While quiescing, queued requests are still answered; the last answer closes the connection.
        let keepOpen = machine.keepsOpen(requestKeepAlive: keepAlive)
        let connection: StaticString? = !keepOpen ? "close" : response.head.version == .http1_0 ? "keep-alive" : nil
        let last: NIOAny
        if encodesResponses {
            let (head, rest) = ClientResponseEncoding.encode(
                response.head, body: response.body, forwarded: response.forwarded, requestMethod: requestMethod,
                connection: connection, allocator: context.channel.allocator)
            if let rest {
                context.write(NIOAny(head), promise: nil)
                last = NIOAny(rest)
            } else {
                last = NIOAny(head)
            }
        } else {
            var head = response.resolvedHead
            if let connection { head.headers.replaceOrAdd(name: "connection", value: "\(connection)") }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if response.body.readableBytes > 0 {
                context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
            }
            last = wrapOutboundOut(.end(nil))
        }
        if !keepOpen {
            let done = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(last, promise: done)
            // Reads held at `maxQueued` resume: a lingering connection reads until the client's EOF.
            let (_, readAgain) = machine.answerWritten(keptOpen: false, now: context.eventLoop.now)
            if readAgain { context.read() }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            done.futureResult.whenComplete { result in
                let (handler, context) = bound.value
                // Without lingering the machine is closed already; with it, it half-closes and lingers.
                if case .success = result, handler.machine.phase == .closing {
                    handler.perform(handler.machine.lastAnswerFlushed(now: context.eventLoop.now), context: context)
                } else {
                    context.close(promise: nil)
                }
            }
            return
        }
        context.writeAndFlush(last, promise: nil)
        let (action, readAgain) = machine.answerWritten(keptOpen: true, now: context.eventLoop.now)
        if readAgain { context.read() }
        perform(action, context: context)
    }

    /// The client's `x-request-id` when it is usable (1–128 visible ASCII characters).
    static func clientRequestID(_ head: HTTPRequestHead) -> String? {
        guard let given = head.headers.first(name: "x-request-id"), !given.isEmpty, given.utf8.count <= 128,
              given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return given
    }
}
