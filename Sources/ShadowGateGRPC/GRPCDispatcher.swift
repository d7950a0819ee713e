import Foundation
import NIOCore
import NIOHPACK
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateProxy
import ShadowGateRouting

/// Routes gRPC calls: unary `ModelInfer` to the serving model and, mirrored, to the other (under
/// the route's flags: mode, canary split by sticky key, shadow sampling), with one pair record per
/// call; every other RPC to the serving model, passed through without a record.
///
/// Promises: the client's answer is written as soon as the serving model's call completes, never
/// later because of the shadow; the serving model's headers, body and trailers are passed on as
/// received; the gateway's own errors are gRPC statuses. Shared by all event loops; per-loop state
/// (connections) lives in ``GRPCLoopUpstreams``.
final class GRPCDispatcher: Sendable {
    static let modelInferPath = "/inference.GRPCInferenceService/ModelInfer"
    /// RPCs whose request carries the model name in field 1 (`model_name` or `name`).
    static let modelScopedPaths: Set<String> = [
        modelInferPath, "/inference.GRPCInferenceService/ModelReady", "/inference.GRPCInferenceService/ModelMetadata",
    ]

    let config: GRPCConfig
    let routes: [RouteConfig]
    let flags: RouteFlagsStore
    let sink: any PairRecordSink
    let captureFeatures: Bool
    let featuresMaxBytes: Int
    let loops: [ObjectIdentifier: GRPCLoopUpstreams]
    let metrics = GRPCMetrics()
    var maxMessageBytes: Int { config.maxMessageBytes }

    init(config: GRPCConfig, gateway: GatewayConfig, flags: RouteFlagsStore, sink: any PairRecordSink, loops: [ObjectIdentifier: GRPCLoopUpstreams]) {
        self.config = config
        self.routes = gateway.routes
        self.flags = flags
        self.sink = sink
        self.captureFeatures = gateway.limits.captureFeatures
        self.featuresMaxBytes = gateway.limits.featuresMaxBytes
        self.loops = loops
    }

    /// Counts `answer` in `shadowgate_grpc_requests_total` (with the `grpc-status` the client gets).
    func count(_ answer: GRPCAnswer, route: String, path: String) {
        switch answer {
        case .status(let status):
            metrics.request(route: route, path: path, servedBy: "gateway", grpcStatus: status.code)
        case .response(let response):
            metrics.request(route: route, path: path, servedBy: response.servedBy, grpcStatus: response.call.grpcStatus)
        }
    }

    func dispatch(headers: HPACKHeaders, body: ByteBuffer, eventLoop: EventLoop, respond deliver: @escaping (GRPCAnswer) -> Void) {
        let path = headers.first(name: ":path") ?? ""
        let metrics = self.metrics
        let respond: (GRPCAnswer) -> Void = { [self] answer in
            count(answer, route: "", path: path)
            deliver(answer)
        }
        guard let upstreams = loops[ObjectIdentifier(eventLoop)] else {
            respond(.status(GRPCStatus(GRPCStatus.unavailable, "gateway shutting down")))
            return
        }
        guard headers.first(name: ":method") == "POST",
              headers.first(name: "content-type")?.hasPrefix("application/grpc") == true
        else {
            respond(.status(GRPCStatus(GRPCStatus.invalidArgument, "not a gRPC request (POST with content-type application/grpc)")))
            return
        }
        let messages: [(compressed: Bool, message: ByteBuffer)]
        switch GRPCMessageFrame.messages(in: body, maxMessageBytes: config.maxMessageBytes) {
        case .failure(.truncated):
            respond(.status(GRPCStatus(GRPCStatus.invalidArgument, "malformed gRPC frame: the body is not whole length-prefixed messages")))
            return
        case .failure(.tooLarge(let size)):
            respond(.status(GRPCStatus(GRPCStatus.resourceExhausted,
                "request message of \(size) bytes is larger than grpc.max_message_bytes (\(config.maxMessageBytes))")))
            return
        case .success(let found):
            messages = found
        }
        // The model a model-scoped call names (field 1 of its request); unknown when compressed.
        var modelName: String?
        if Self.modelScopedPaths.contains(path), messages.count == 1, !messages[0].compressed {
            modelName = messages[0].message.withUnsafeReadableBytes { OIPProtobufReading.modelName($0) }
        }
        guard let routeIndex = config.routeIndex(model: modelName) else {
            respond(.status(GRPCStatus(GRPCStatus.notFound, "no gRPC route for model '\(modelName ?? "")'")))
            return
        }
        let grpcRoute = config.routes[routeIndex]
        guard let route = routes.first(where: { $0.name == grpcRoute.route }), let routeFlags = flags.flags(route: route.name) else {
            respond(.status(GRPCStatus(GRPCStatus.internal, "gRPC route '\(grpcRoute.route)' names no route")))
            return
        }
        let routed: (GRPCAnswer) -> Void = { [self] answer in
            count(answer, route: route.name, path: path)
            deliver(answer)
        }
        var metadata = HPACKHeaders()
        for (name, value, indexing) in headers where !name.hasPrefix(":") && name != "connection" && name != "host" {
            metadata.add(name: name, value: value, indexing: indexing)
        }
        let requestID = headers.first(name: "x-request-id").flatMap { $0.isEmpty || $0.count > 128 ? nil : $0 } ?? UUID().uuidString
        metadata.replaceOrAdd(name: "x-request-id", value: requestID)
        let request = GRPCCallRequest(path: path, metadata: metadata, body: body)
        let clientDeadline = headers.first(name: "grpc-timeout").flatMap(GRPCTimeout.parse)

        func timeout(_ upstream: UpstreamConfig) -> TimeAmount {
            let own = TimeAmount.milliseconds(Int64(upstream.timeoutMillis))
            guard let clientDeadline else { return own }
            return min(own, clientDeadline)
        }

        guard path == Self.modelInferPath, messages.count == 1, routeFlags.mirrors else {
            // Pass-through: health, metadata, readiness and anything else, to the serving model.
            let role: ModelRole = routeFlags.mode == .promoted ? .learner : .legacy
            guard let connection = upstreams.connection(route: routeIndex, role: role) else {
                routed(.status(GRPCStatus(GRPCStatus.unavailable, "route '\(route.name)' has no \(role.rawValue) gRPC upstream")))
                return
            }
            connection.call(request, timeout: timeout(connection.upstream)) { result in
                routed(Self.answer(result, role: role, upstream: connection.upstream, route: route.name))
            }
            return
        }

        let bucket: UInt32
        if routeFlags.mode == .canary {
            var key = requestID
            if case .header(let name) = route.stickyKey, let value = headers.first(name: name.lowercased()) { key = value }
            bucket = StickyBucket.bucket(for: key)
        } else {
            bucket = 0
        }
        let serving = routeFlags.servingModel(bucket: bucket)
        guard let primary = upstreams.connection(route: routeIndex, role: serving) else {
            routed(.status(GRPCStatus(GRPCStatus.unavailable, "route '\(route.name)' has no \(serving.rawValue) gRPC upstream")))
            return
        }
        let receivedAt = Int64(Date().timeIntervalSince1970 * 1_000_000)
        var features: String?
        var truncated = false
        if captureFeatures {
            (features, truncated) = messages[0].message.withUnsafeReadableBytes { OIPProtobufReading.readFeatures($0, maxBytes: featuresMaxBytes) }
        }
        let join = GRPCPairJoin(
            record: PairRecord(
                requestID: requestID, route: route.name, receivedAtMicros: receivedAt, servedBy: serving,
                mode: routeFlags.mode, canaryPercent: routeFlags.canaryPercent, legacy: .skipped, learner: .skipped,
                features: features, featuresTruncated: truncated),
            serving: serving, sink: sink)
        var shadow: GRPCUpstreamConnection?
        if let connection = upstreams.connection(route: routeIndex, role: serving.other) {
            if routeFlags.shadowPercent < 100, !Self.isSampled(requestID: requestID, percent: routeFlags.shadowPercent) {
                join.record.shadowSkip = .sampledOut
            } else if connection.isSaturated {
                join.record.shadowSkip = .poolSaturated
            } else {
                shadow = connection
            }
        } else {
            join.record.shadowSkip = .noShadowUpstream
        }
        join.awaitingShadow = shadow != nil
        if let reason = join.record.shadowSkip { metrics.shadowSkipped(route: route.name, reason: reason) }
        primary.call(request, timeout: timeout(primary.upstream)) { result in
            routed(Self.answer(result, role: serving, upstream: primary.upstream, route: route.name))
            let side = Self.side(result)
            metrics.upstreamLatency(route: route.name, model: serving, micros: side.latencyMicros ?? result.latencyMicros)
            join.done(serving, side)
        }
        if let shadow {
            // The client's deadline is not the shadow's: the learner gets its own timeout.
            var shadowRequest = request
            shadowRequest.metadata.remove(name: "grpc-timeout")
            shadow.call(shadowRequest, timeout: .milliseconds(Int64(shadow.upstream.timeoutMillis))) { result in
                let side = Self.side(result)
                metrics.upstreamLatency(route: route.name, model: serving.other, micros: side.latencyMicros ?? result.latencyMicros)
                metrics.shadow(route: route.name, model: serving.other, outcome: side.outcome)
                join.done(serving.other, side)
            }
        }
    }

    static func answer(_ result: GRPCCallResult, role: ModelRole, upstream: UpstreamConfig, route: String) -> GRPCAnswer {
        if let response = result.response {
            return .response(GRPCForwardedResponse(call: response, servedBy: role.rawValue))
        }
        let failure = result.failure ?? .streamClosed("no response")
        return .status(GRPCStatus(failure.status, "\(role.rawValue) upstream \(upstream.url) for route '\(route)' \(failure.clientReason)"))
    }

    /// One side of the pair from a call's result: predictions from the first response message.
    static func side(_ result: GRPCCallResult) -> PredictionSide {
        guard let response = result.response else {
            let failure = result.failure ?? .streamClosed("no response")
            let outcome: SideOutcome = switch failure {
            case .timeout: .timeout
            case .tooLarge: .unparsed
            case .saturated: .skipped
            default: .unreachable
            }
            return PredictionSide(latencyMicros: result.latencyMicros, outcome: outcome, error: failure.reason)
        }
        let httpStatus = response.headers.first(name: ":status").flatMap { Int($0) }
        guard let status = response.grpcStatus, status == 0 else {
            let text = "grpc-status \(response.grpcStatus.map(String.init) ?? "missing")" + (response.grpcMessage.map { ": \($0)" } ?? "")
            return PredictionSide(status: httpStatus, latencyMicros: result.latencyMicros, outcome: .httpError, error: text)
        }
        let reading: ResponseReading
        switch GRPCMessageFrame.messages(in: response.body, maxMessageBytes: .max) {
        case .success(let messages) where messages.count == 1 && !messages[0].compressed:
            reading = messages[0].message.withUnsafeReadableBytes { OIPProtobufReading.readResponse($0) }
        case .success(let messages) where messages.count == 1:
            reading = .unparsed("compressed response message")
        default:
            reading = .unparsed("response is not one length-prefixed gRPC message")
        }
        return PredictionSide(
            status: httpStatus, latencyMicros: result.latencyMicros, outcome: reading.parsed ? .ok : .unparsed,
            output: reading.output, score: reading.score, label: reading.label, modelVersion: reading.modelVersion, error: reading.error)
    }

    static func isSampled(requestID: String, percent: Double) -> Bool {
        var id = requestID
        let hash = id.withUTF8 { StickyBucket.murmur3_32(UnsafeRawBufferPointer($0), seed: 0x5EED) } % StickyBucket.count
        return StickyBucket.isLearner(bucket: hash, percent: percent)
    }
}

/// Waits for both sides of one mirrored call, then submits the pair. Confined to one event loop.
final class GRPCPairJoin: @unchecked Sendable {
    var record: PairRecord
    let serving: ModelRole
    let sink: any PairRecordSink
    var awaitingShadow = false
    private var primaryDone = false
    private var submitted = false

    init(record: PairRecord, serving: ModelRole, sink: any PairRecordSink) {
        self.record = record
        self.serving = serving
        self.sink = sink
    }

    func done(_ role: ModelRole, _ side: PredictionSide) {
        record[role] = side
        if role == serving { primaryDone = true } else { awaitingShadow = false }
        if primaryDone, !awaitingShadow, !submitted {
            submitted = true
            sink.submit(record)
        }
    }
}
