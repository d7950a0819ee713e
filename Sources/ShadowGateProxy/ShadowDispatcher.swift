import NIOCore
import NIOHTTP1
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateRouting

/// Sends one inference request to its serving model and, in shadow, to the other; answers from the
/// serving model; records the pair.
///
/// Promises: `respond` is called as soon as the serving model's exchange completes — never later
/// because of the shadow, the adapter or the sink. The serving model's body is passed on byte for byte.
/// Every request of a mirroring mode yields exactly one ``PairRecord``, mirrored or not.
/// Runs entirely on the client connection's event loop.
struct ShadowDispatcher {
    typealias Respond = (GatewayResponse) -> Void

    let context: GatewayContext
    let upstreams: LoopUpstreams

    func dispatch(_ request: BufferedRequest, routeIndex: Int, requestID: String, respond: @escaping Respond) {
        let route = context.routeTable.routes[routeIndex]
        let flags = context.flags.flags(routeIndex: routeIndex)
        // Only a canary split needs the sticky bucket; hashing is skipped otherwise.
        let bucket = flags.mode == .canary ? StickyBucket.bucket(for: stickyKey(of: request, route: route, requestID: requestID)) : 0
        let serving = flags.servingModel(bucket: bucket)

        guard let primaryPool = upstreams.pool(route: routeIndex, role: serving) else {
            // Validation guarantees a legacy upstream; a learner-served route always has a learner.
            respond(.json(.init(status: .badGateway, message: "route '\(route.name)' has no \(serving.rawValue) upstream"), version: request.head.version, requestID: requestID))
            return
        }
        let forwarded = forwardedHeaders(request, requestID: requestID)
        let metrics = context.metrics

        guard flags.mirrors else {
            primaryPool.execute(upstreamRequest(request, headers: forwarded, to: primaryPool.upstream)) { result in
                metrics.upstreamLatency(route: routeIndex, model: serving, micros: result.latencyMicros)
                respond(clientResponse(result, role: serving, upstream: primaryPool.upstream, routeIndex: routeIndex, request: request, requestID: requestID))
            }
            return
        }

        context.inFlight.begin()
        let join = PairJoin(recorder: PairRecorder(
            context: context, routeIndex: routeIndex, route: route, flags: flags, serving: serving,
            requestID: requestID, request: request))
        var shadowPool: UpstreamPool?
        if let pool = upstreams.pool(route: routeIndex, role: serving.other) {
            if (request.body?.readableBytes ?? 0) > context.config.limits.mirrorMaxBodyBytes {
                join.skip = .bodyTooLarge
            } else if flags.shadowPercent < 100, !isSampled(requestID: requestID, percent: flags.shadowPercent) {
                join.skip = .sampledOut
            } else if pool.isSaturated {
                join.skip = .poolSaturated
            } else {
                shadowPool = pool
            }
        } else {
            join.skip = .noShadowUpstream
        }
        if let skip = join.skip { metrics.shadowSkipped(route: routeIndex, reason: skip) }

        primaryPool.execute(upstreamRequest(request, headers: forwarded, to: primaryPool.upstream)) { result in
            metrics.upstreamLatency(route: routeIndex, model: serving, micros: result.latencyMicros)
            respond(clientResponse(result, role: serving, upstream: primaryPool.upstream, routeIndex: routeIndex, request: request, requestID: requestID))
            join.primaryDone(result)
        }
        if let shadowPool {
            join.awaitingShadow = true
            shadowPool.execute(upstreamRequest(request, headers: forwarded, to: shadowPool.upstream)) { result in
                join.shadowDone(result)
            }
        }
    }

    /// Forwards a model metadata or readiness call to the model serving the route; nothing mirrored or recorded.
    func passThrough(_ request: BufferedRequest, routeIndex: Int, requestID: String, respond: @escaping Respond) {
        let route = context.routeTable.routes[routeIndex]
        let role: ModelRole = context.flags.flags(routeIndex: routeIndex).mode == .promoted ? .learner : .legacy
        guard let pool = upstreams.pool(route: routeIndex, role: role) else {
            respond(.json(.init(status: .badGateway, message: "route '\(route.name)' has no \(role.rawValue) upstream"), version: request.head.version, requestID: requestID))
            return
        }
        pool.execute(upstreamRequest(request, headers: forwardedHeaders(request, requestID: requestID), to: pool.upstream)) { result in
            respond(clientResponse(result, role: role, upstream: pool.upstream, routeIndex: routeIndex, request: request, requestID: requestID))
        }
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

    /// The client's headers as both upstreams get them (before `host`): hop-by-hop removed, request id and length set.
    private func forwardedHeaders(_ request: BufferedRequest, requestID: String) -> HTTPHeaders {
        var headers = request.head.headers
        headers.removeHopByHop()
        headers.remove(name: "content-length")
        headers.replaceOrAdd(name: "x-request-id", value: requestID)
        let bodyBytes = request.body?.readableBytes ?? 0
        let method = request.head.method
        if bodyBytes > 0 || !(method == .GET || method == .HEAD || method == .DELETE || method == .OPTIONS) {
            headers.add(name: "content-length", value: String(bodyBytes))
        }
        return headers
    }

    private func upstreamRequest(_ request: BufferedRequest, headers: HTTPHeaders, to upstream: UpstreamConfig) -> UpstreamRequest {
        var headers = headers
        headers.replaceOrAdd(name: "host", value: upstream.authority)
        let uri = upstream.basePath.isEmpty ? request.head.uri : upstream.basePath + request.head.uri
        return UpstreamRequest(head: HTTPRequestHead(version: .http1_1, method: request.head.method, uri: uri, headers: headers), body: request.body)
    }

    private func clientResponse(
        _ result: UpstreamResult, role: ModelRole, upstream: UpstreamConfig, routeIndex: Int,
        request: BufferedRequest, requestID: String
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
            let route = context.routeTable.routes[routeIndex].name
            return .json(.init(status: status, message: "\(role.rawValue) upstream \(upstream.url) for route '\(route)': \(detail)"),
                         version: request.head.version, requestID: requestID, servedBy: role)
        }
        var headers = response.head.headers
        headers.removeHopByHop()
        // The body is passed on whole: its length is known even when the upstream sent it chunked.
        if request.head.method != .HEAD {
            let length = String(response.body.readableBytes)
            if headers.first(name: "content-length") != length { headers.replaceOrAdd(name: "content-length", value: length) }
        }
        headers.replaceOrAdd(name: "x-request-id", value: requestID)
        headers.add(name: "x-shadowgate-served-by", value: role.rawValue)
        context.metrics.request(route: routeIndex, servedBy: role, status: Int(response.head.status.code))
        return GatewayResponse(head: HTTPResponseHead(version: request.head.version, status: response.head.status, headers: headers), body: response.body)
    }
}

/// Waits for both sides of a mirrored request, then records the pair once. Confined to the event loop.
final class PairJoin {
    let recorder: PairRecorder
    var skip: ShadowSkipReason?
    var awaitingShadow = false
    private var primary: UpstreamResult?
    private var shadow: UpstreamResult?

    init(recorder: PairRecorder) { self.recorder = recorder }

    func primaryDone(_ result: UpstreamResult) {
        primary = result
        finishIfReady()
    }

    func shadowDone(_ result: UpstreamResult) {
        shadow = result
        finishIfReady()
    }

    private func finishIfReady() {
        guard let primary, !awaitingShadow || shadow != nil else { return }
        recorder.record(primary: primary, shadow: shadow, skip: skip)
    }
}
