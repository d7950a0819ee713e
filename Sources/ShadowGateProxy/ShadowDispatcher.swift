import NIOCore
import NIOHTTP1
import ShadowGateCore

/// Sends one inference request to its serving model and, in shadow, to the other; answers from the
/// serving model; records the pair.
///
/// Promises: the returned future completes as soon as the serving model's exchange does — never later
/// because of the shadow, the adapter or the sink. The serving model's body is passed on byte for byte.
/// Every mirrored-or-not request of a mirroring mode yields exactly one ``PairRecord``.
/// Runs entirely on the client connection's event loop.
struct ShadowDispatcher {
    let context: GatewayContext
    let upstreams: LoopUpstreams

    func dispatch(_ request: BufferedRequest, routeIndex: Int, requestID: String) -> EventLoopFuture<GatewayResponse> {
        let route = context.routeTable.routes[routeIndex]
        let flags = context.flags.flags(routeIndex: routeIndex)
        // Only a canary split needs the sticky bucket; hashing is skipped otherwise.
        let bucket = flags.mode == .canary ? StickyBucket.bucket(for: stickyKey(of: request, route: route, requestID: requestID)) : 0
        let serving = flags.servingModel(bucket: bucket)
        let shadowRole = serving.other
        let now = NIODeadline.now()

        guard let primaryPool = upstreams.pool(route: routeIndex, role: serving) else {
            // Validation guarantees a legacy upstream; a learner-served route always has a learner.
            return upstreams.eventLoop.makeSucceededFuture(errorResponse(.init(status: .badGateway, message: "route '\(route.name)' has no \(serving.rawValue) upstream"), requestID: requestID, request: request))
        }
        let upstreamHead = forwardedHead(request.head, bodyBytes: request.body?.readableBytes ?? 0, upstream: primaryPool.upstream, requestID: requestID)
        let primary = primaryPool.execute(
            UpstreamRequest(head: upstreamHead, body: request.body),
            deadline: now + .milliseconds(Int64(primaryPool.upstream.timeoutMillis)))

        guard flags.mirrors else {
            return primary.map { result in
                context.metrics.upstreamLatency(route: routeIndex, model: serving, micros: result.latencyMicros)
                return clientResponse(result, role: serving, upstream: primaryPool.upstream, routeIndex: routeIndex, route: route, requestID: requestID, request: request)
            }
        }

        context.inFlight.begin()
        var skip: ShadowSkipReason?
        var shadow: EventLoopFuture<UpstreamResult>?
        if let shadowPool = upstreams.pool(route: routeIndex, role: shadowRole) {
            if (request.body?.readableBytes ?? 0) > context.config.limits.mirrorMaxBodyBytes {
                skip = .bodyTooLarge
            } else if flags.shadowPercent < 100, !isSampled(requestID: requestID, percent: flags.shadowPercent) {
                skip = .sampledOut
            } else if shadowPool.isSaturated {
                skip = .poolSaturated
            } else {
                shadow = shadowPool.execute(
                    UpstreamRequest(head: forwardedHead(request.head, bodyBytes: request.body?.readableBytes ?? 0, upstream: shadowPool.upstream, requestID: requestID), body: request.body),
                    deadline: now + .milliseconds(Int64(shadowPool.upstream.timeoutMillis)))
            }
        } else {
            skip = .noShadowUpstream
        }

        let response = primary.map { result in
            context.metrics.upstreamLatency(route: routeIndex, model: serving, micros: result.latencyMicros)
            return clientResponse(result, role: serving, upstream: primaryPool.upstream, routeIndex: routeIndex, route: route, requestID: requestID, request: request)
        }
        let recorder = PairRecorder(context: context, routeIndex: routeIndex, route: route, flags: flags, serving: serving, requestID: requestID, request: request)
        if let shadow {
            primary.and(shadow).whenSuccess { primaryResult, shadowResult in
                recorder.record(primary: primaryResult, shadow: shadowResult, skip: nil)
            }
        } else {
            let reason = skip ?? .noShadowUpstream
            context.metrics.shadowSkipped(route: routeIndex, reason: reason)
            primary.whenSuccess { primaryResult in
                recorder.record(primary: primaryResult, shadow: nil, skip: reason)
            }
        }
        return response
    }

    /// Forwards a model metadata or readiness call to the model serving the route; nothing mirrored or recorded.
    func passThrough(_ request: BufferedRequest, routeIndex: Int, requestID: String) -> EventLoopFuture<GatewayResponse> {
        let route = context.routeTable.routes[routeIndex]
        let role: ModelRole = context.flags.flags(routeIndex: routeIndex).mode == .promoted ? .learner : .legacy
        guard let pool = upstreams.pool(route: routeIndex, role: role) else {
            return upstreams.eventLoop.makeSucceededFuture(errorResponse(.init(status: .badGateway, message: "route '\(route.name)' has no \(role.rawValue) upstream"), requestID: requestID, request: request))
        }
        let head = forwardedHead(request.head, bodyBytes: request.body?.readableBytes ?? 0, upstream: pool.upstream, requestID: requestID)
        return pool.execute(UpstreamRequest(head: head, body: request.body), deadline: .now() + .milliseconds(Int64(pool.upstream.timeoutMillis)))
            .map { clientResponse($0, role: role, upstream: pool.upstream, routeIndex: routeIndex, route: route, requestID: requestID, request: request) }
    }

    private func stickyKey(of request: BufferedRequest, route: RouteConfig, requestID: String) -> String {
        switch route.stickyKey {
        case .requestID:
            return requestID
        case .header(let name):
            return request.head.headers.first(name: name) ?? requestID
        case .jsonPointer(let pointer):
            guard let body = request.body else { return requestID }
            return body.withUnsafeReadableBytes { PredictionAdapter.stickyValue($0, pointer: pointer) } ?? requestID
        }
    }

    private func isSampled(requestID: String, percent: Double) -> Bool {
        var id = requestID
        // A seed apart from the canary bucket's, so sampling does not correlate with canary assignment.
        let hash = id.withUTF8 { StickyBucket.murmur3_32(UnsafeRawBufferPointer($0), seed: 0x5EED) } % StickyBucket.count
        return StickyBucket.isLearner(bucket: hash, percent: percent)
    }

    private func forwardedHead(_ head: HTTPRequestHead, bodyBytes: Int, upstream: UpstreamConfig, requestID: String) -> HTTPRequestHead {
        var headers = head.headers.strippingHopByHop()
        headers.replaceOrAdd(name: "host", value: upstream.authority)
        headers.replaceOrAdd(name: "x-request-id", value: requestID)
        if bodyBytes > 0 || !(head.method == .GET || head.method == .HEAD || head.method == .DELETE || head.method == .OPTIONS) {
            headers.add(name: "content-length", value: String(bodyBytes))
        }
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: upstream.basePath + head.uri, headers: headers)
    }

    private func clientResponse(
        _ result: UpstreamResult, role: ModelRole, upstream: UpstreamConfig, routeIndex: Int, route: RouteConfig,
        requestID: String, request: BufferedRequest
    ) -> GatewayResponse {
        guard let response = result.response else {
            let failure = result.failure ?? .connectionClosed
            let status: HTTPResponseStatus = switch failure {
            case .timeout: .gatewayTimeout
            case .poolSaturated, .shuttingDown: .serviceUnavailable
            default: .badGateway
            }
            let detail = failure == .timeout ? "timed out after \(upstream.timeoutMillis) ms" : failure.reason
            context.metrics.request(route: routeIndex, servedBy: role, status: Int(status.code))
            return errorResponse(.init(status: status, message: "\(role.rawValue) upstream \(upstream.url) for route '\(route.name)': \(detail)"), requestID: requestID, request: request, servedBy: role)
        }
        var headers = response.head.headers.strippingHopByHop()
        if request.head.method == .HEAD, let length = response.head.headers.first(name: "content-length") {
            headers.add(name: "content-length", value: length)
        } else {
            headers.add(name: "content-length", value: String(response.body.readableBytes))
        }
        headers.replaceOrAdd(name: "x-request-id", value: requestID)
        headers.add(name: "x-shadowgate-served-by", value: role.rawValue)
        context.metrics.request(route: routeIndex, servedBy: role, status: Int(response.head.status.code))
        return GatewayResponse(head: HTTPResponseHead(version: request.head.version, status: response.head.status, headers: headers), body: response.body)
    }

    func errorResponse(_ error: JSONErrorResponse, requestID: String, request: BufferedRequest, servedBy: ModelRole? = nil) -> GatewayResponse {
        GatewayResponse.json(error, version: request.head.version, requestID: requestID, servedBy: servedBy)
    }
}

extension GatewayResponse {
    /// A gateway-made JSON error response.
    static func json(_ error: JSONErrorResponse, version: HTTPVersion, requestID: String?, servedBy: ModelRole? = nil) -> GatewayResponse {
        let body = error.body(allocator: ByteBufferAllocator())
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        if let requestID { headers.add(name: "x-request-id", value: requestID) }
        headers.add(name: "x-shadowgate-served-by", value: servedBy?.rawValue ?? "gateway")
        return GatewayResponse(head: HTTPResponseHead(version: version, status: error.status, headers: headers), body: body)
    }
}
