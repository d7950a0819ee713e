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
        // Read in place: a copy of the route's configuration would retain every string in it, per request.
        let routes = context.routeTable.routes
        let flags = context.flags.flags(routeIndex: routeIndex)
        // Only a canary split or a holdout needs the sticky bucket; hashing is skipped otherwise.
        let needsBucket = flags.mode == .canary || (routes[routeIndex].holdoutPercent > 0 && flags.mode != .legacy)
        let bucket = needsBucket ? StickyBucket.bucket(for: stickyKey(of: request, key: routes[routeIndex].stickyKey, requestID: requestID)) : 0
        // The legacy holdout is served by legacy in every mode (and still mirrored to the learner).
        let holdout = needsBucket && StickyBucket.isHoldout(bucket: bucket, percent: routes[routeIndex].holdoutPercent)
        let serving = holdout ? .legacy : flags.servingModel(bucket: bucket)

        guard let primaryPool = upstreams.pool(route: routeIndex, role: serving) else {
            // Validation guarantees a legacy upstream; a learner-served route always has a learner.
            respond(.json(.init(status: .badGateway, message: "route '\(routes[routeIndex].name)' has no \(serving.rawValue) upstream"), version: request.head.version, requestID: requestID))
            return
        }
        let metrics = context.metrics
        let headerLines = Self.headerLines(of: request, requestID: requestID)

        guard flags.mirrors else {
            primaryPool.execute(upstreamRequest(request, headerLines: headerLines, to: primaryPool)) { result in
                metrics.upstreamLatency(route: routeIndex, model: serving, micros: result.latencyMicros)
                respond(clientResponse(result, role: serving, upstream: primaryPool.upstream, routeIndex: routeIndex, request: request, requestID: requestID))
            }
            return
        }

        // The shadow's fate is decided before either exchange starts, so a primary that completes
        // synchronously (a saturated pool answers at once) cannot record the pair early or twice.
        var shadowPool: UpstreamPool?
        let shadow: PairJoin.StateMachine.Shadow
        if let pool = upstreams.pool(route: routeIndex, role: serving.other) {
            if (request.body?.readableBytes ?? 0) > context.config.limits.mirrorMaxBodyBytes {
                shadow = .skipped(.bodyTooLarge)
            } else if flags.shadowPercent < 100, !isSampled(requestID: requestID, percent: flags.shadowPercent) {
                shadow = .skipped(.sampledOut)
            } else if pool.isSaturated {
                shadow = .skipped(.poolSaturated)
            } else if pool.isCircuitOpen {
                shadow = .skipped(.circuitOpen)
            } else {
                shadow = .mirrored
                shadowPool = pool
            }
        } else {
            shadow = .skipped(.noShadowUpstream)
        }
        if case .skipped(let reason) = shadow { metrics.shadowSkipped(route: routeIndex, reason: reason) }
        let join = PairJoin(shadow: shadow, recorder: PairRecorder(
            context: context, routeIndex: routeIndex, routeName: routes[routeIndex].name, flags: flags, serving: serving,
            requestID: requestID, request: request, holdout: holdout))

        primaryPool.execute(upstreamRequest(request, headerLines: headerLines, to: primaryPool)) { result in
            metrics.upstreamLatency(route: routeIndex, model: serving, micros: result.latencyMicros)
            respond(clientResponse(result, role: serving, upstream: primaryPool.upstream, routeIndex: routeIndex, request: request, requestID: requestID))
            join.primaryCompleted(result)
        }
        if let shadowPool {
            shadowPool.execute(upstreamRequest(request, headerLines: headerLines, to: shadowPool)) { result in
                join.shadowCompleted(result)
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
        pool.execute(upstreamRequest(request, headerLines: Self.headerLines(of: request, requestID: requestID), to: pool)) { result in
            respond(clientResponse(result, role: role, upstream: pool.upstream, routeIndex: routeIndex, request: request, requestID: requestID))
        }
    }

    private func stickyKey(of request: BufferedRequest, key: StickyKey, requestID: String) -> String {
        switch key {
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

    /// The header lines of the request as every upstream gets it (see ``ForwardedHeaderLines``).
    private static func headerLines(of request: BufferedRequest, requestID: String) -> ByteBuffer {
        let bodyBytes = request.body?.readableBytes ?? 0
        let method = request.head.method
        let sendsLength = bodyBytes > 0 || !(method == .GET || method == .HEAD || method == .DELETE || method == .OPTIONS)
        return ForwardedHeaderLines.encode(
            from: request.head.headers, requestID: requestID, contentLength: sendsLength ? bodyBytes : nil, allocator: ByteBufferAllocator())
    }

    /// The request as `pool`'s upstream gets it: the client's method, path (under the upstream's base
    /// path), body, the shared header lines and the upstream's authority as `host`.
    private func upstreamRequest(_ request: BufferedRequest, headerLines: ByteBuffer, to pool: UpstreamPool) -> UpstreamRequest {
        let basePath = pool.upstream.basePath
        return UpstreamRequest(
            method: request.head.method, uri: basePath.isEmpty ? request.head.uri : basePath + request.head.uri,
            headerLines: headerLines, host: pool.authority, body: request.body)
    }

    private func clientResponse(
        _ result: UpstreamResult, role: ModelRole, upstream: UpstreamConfig, routeIndex: Int,
        request: BufferedRequest, requestID: String
    ) -> GatewayResponse {
        guard let response = result.response else {
            let failure = result.failure ?? .connectionClosed
            let status: HTTPResponseStatus = switch failure {
            case .timeout: .gatewayTimeout
            case .poolSaturated, .shuttingDown, .circuitOpen: .serviceUnavailable
            default: .badGateway
            }
            let route = context.routeTable.routes[routeIndex].name
            switch failure {
            case .connectFailed, .malformedResponse, .tlsFailed:
                // The detail (socket errors, parser state) is for the operator, never the client.
                context.logger.warning("upstream exchange failed", metadata: [
                    "route": "\(route)", "model": "\(role.rawValue)", "upstream": "\(upstream.url)",
                    "request_id": "\(requestID)", "error": "\(failure.reason)",
                ])
            default:
                break
            }
            let detail = failure == .timeout ? "timed out after \(upstream.timeoutMillis) ms" : failure.clientReason
            context.metrics.request(route: routeIndex, servedBy: role, status: Int(status.code))
            return .json(.init(status: status, message: "\(role.rawValue) upstream \(upstream.url) for route '\(route)' \(detail)"),
                         version: request.head.version, requestID: requestID, servedBy: role)
        }
        // The body is passed on whole: its length is known even when the upstream sent it chunked.
        let forwarded = GatewayResponse.ForwardedHeaders(
            upstream: response.fields, bodyLength: request.head.method == .HEAD ? nil : response.body.readableBytes,
            requestID: requestID, servedBy: role.rawValue)
        context.metrics.request(route: routeIndex, servedBy: role, status: Int(response.status.code))
        return GatewayResponse(
            head: HTTPResponseHead(version: request.head.version, status: response.status), body: response.body, forwarded: forwarded)
    }
}

/// Waits for both sides of a mirrored request, then records the pair exactly once (see
/// ``StateMachine``). Counts as in flight from creation until the record is submitted, so a drain
/// waits for it. Confined to the event loop.
final class PairJoin {
    private let recorder: PairRecorder
    private var machine: StateMachine

    init(shadow: StateMachine.Shadow, recorder: PairRecorder) {
        recorder.context.inFlight.begin()
        self.recorder = recorder
        self.machine = StateMachine(shadow: shadow)
    }

    func primaryCompleted(_ result: UpstreamResult) {
        run(machine.primaryCompleted(result))
    }

    func shadowCompleted(_ result: UpstreamResult) {
        run(machine.shadowCompleted(result))
    }

    private func run(_ action: StateMachine.Action) {
        switch action {
        case .none:
            return
        case .record(let primary, let shadow, let skip):
            recorder.record(primary: primary, shadow: shadow, skip: skip)
            recorder.context.inFlight.end()
        }
    }
}
