import NIOCore
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateRouting

/// Turns the two upstream results of one request into a ``PairRecord`` and hands it to the sink.
///
/// Runs on the event loop after the serving model answered (and the shadow finished or gave up).
/// Never blocks: the adapter reads bytes in place and the sink's `submit` does not wait.
struct PairRecorder {
    let context: GatewayContext
    let routeIndex: Int
    let routeName: String
    let flags: RouteFlags
    let serving: ModelRole
    let requestID: String
    let request: BufferedRequest
    var holdout = false

    func record(primary: UpstreamResult, shadow: UpstreamResult?, skip: ShadowSkipReason?) {
        let adapter = context.adapters[routeIndex]
        var skip = skip
        var shadowSide = PredictionSide.skipped
        if let shadow {
            context.metrics.upstreamLatency(route: routeIndex, model: serving.other, micros: shadow.latencyMicros)
            if let failure = shadow.failure, let reason = failure.skipReason {
                // Never sent: the pair says why. An open circuit means the learner is known to be down,
                // so its side stays `unreachable` (comparisons count it) while the skip reason says it was not called.
                skip = reason
                context.metrics.shadowSkipped(route: routeIndex, reason: reason)
                if failure == .circuitOpen { shadowSide = Self.side(from: shadow, adapter: adapter) }
            } else {
                shadowSide = Self.side(from: shadow, adapter: adapter)
                context.metrics.shadow(route: routeIndex, model: serving.other, outcome: shadowSide.outcome)
            }
        }
        if shadow == nil, skip == .circuitOpen {
            // Known down, so not called: the side counts as unreachable, the skip reason says why.
            shadowSide = PredictionSide(outcome: .unreachable, error: UpstreamFailure.circuitOpen.reason)
        }
        let primarySide = Self.side(from: primary, adapter: adapter)

        var features: String?
        var truncated = false
        if context.config.limits.captureFeatures, let body = request.body, body.readableBytes > 0 {
            (features, truncated) = body.withUnsafeReadableBytes {
                adapter.readFeatures($0, maxBytes: context.config.limits.featuresMaxBytes)
            }
        }
        // Each side is moved into its place (a ternary per side would copy both, and a copy of a side
        // retains its four strings).
        let legacySide: PredictionSide
        let learnerSide: PredictionSide
        if serving == .legacy {
            legacySide = consume primarySide
            learnerSide = consume shadowSide
        } else {
            legacySide = consume shadowSide
            learnerSide = consume primarySide
        }
        var record = PairRecord(
            requestID: requestID, route: routeName, receivedAtMicros: request.receivedAtMicros,
            servedBy: serving, mode: flags.mode, canaryPercent: flags.canaryPercent,
            legacy: consume legacySide, learner: consume learnerSide, shadowSkip: skip,
            features: features, featuresTruncated: truncated)
        record.holdout = holdout
        if !context.sink.submit(consume record) {
            context.metrics.sinkDropped.increment()
        }
    }

    static func side(from result: UpstreamResult, adapter: PredictionAdapter) -> PredictionSide {
        // Read in place: binding the response would copy it.
        guard result.response != nil else {
            let failure = result.failure ?? .connectionClosed
            let outcome: SideOutcome = switch failure {
            case .timeout: .timeout
            case .responseTooLarge: .unparsed
            case .circuitOpen: .unreachable
            case .poolSaturated, .shuttingDown: .skipped
            default: .unreachable
            }
            return PredictionSide(latencyMicros: result.latencyMicros, outcome: outcome, error: failure.reason)
        }
        let status = Int(result.response!.status.code)
        guard (200..<300).contains(status) else {
            return PredictionSide(status: status, latencyMicros: result.latencyMicros, outcome: .httpError, error: "HTTP \(status)")
        }
        let reading = result.response!.body.withUnsafeReadableBytes { adapter.readResponse($0) }
        return PredictionSide(
            status: status, latencyMicros: result.latencyMicros,
            outcome: reading.parsed ? .ok : .unparsed,
            output: reading.output, score: reading.score, label: reading.label,
            modelVersion: reading.modelVersion, error: reading.error)
    }
}
