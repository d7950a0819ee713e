import CoreMetrics
import Synchronization
import ShadowGateCore

/// The data path's Prometheus metrics, created once and cached so a request pays no factory lookup.
///
/// Names (all prefixed `shadowgate_`): `requests_total{route,served_by,status}`,
/// `upstream_latency_seconds{route,model}` (histogram), `shadow_requests_total{route,model,outcome}`,
/// `shadow_skipped_total{route,reason}`, `sink_dropped_total`, `errors_total{kind}`.
public final class GatewayMetrics: Sendable {
    private struct RequestKey: Hashable { var route: String; var servedBy: ModelRole; var status: Int }
    private struct ShadowKey: Hashable { var route: String; var model: ModelRole; var outcome: SideOutcome }
    private struct RouteModelKey: Hashable { var route: String; var model: ModelRole }
    private struct SkipKey: Hashable { var route: String; var reason: ShadowSkipReason }

    private let requests = Mutex<[RequestKey: Counter]>([:])
    private let shadows = Mutex<[ShadowKey: Counter]>([:])
    private let latencies = Mutex<[RouteModelKey: Timer]>([:])
    private let skips = Mutex<[SkipKey: Counter]>([:])
    private let errors = Mutex<[String: Counter]>([:])
    let sinkDropped = Counter(label: "shadowgate_sink_dropped_total")
    let inFlight = Gauge(label: "shadowgate_requests_in_flight")

    public init() {}

    func request(route: String, servedBy: ModelRole, status: Int) {
        let key = RequestKey(route: route, servedBy: servedBy, status: status)
        requests.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: "shadowgate_requests_total", dimensions: [
                ("route", route), ("served_by", servedBy.rawValue), ("status", String(status)),
            ])
            cache[key] = counter
            return counter
        }.increment()
    }

    func upstreamLatency(route: String, model: ModelRole, micros: Int64) {
        let key = RouteModelKey(route: route, model: model)
        latencies.withLock { cache in
            if let timer = cache[key] { return timer }
            let timer = Timer(label: "shadowgate_upstream_latency_seconds", dimensions: [
                ("route", route), ("model", model.rawValue),
            ], preferredDisplayUnit: .seconds)
            cache[key] = timer
            return timer
        }.recordMicroseconds(micros)
    }

    func shadow(route: String, model: ModelRole, outcome: SideOutcome) {
        let key = ShadowKey(route: route, model: model, outcome: outcome)
        shadows.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: "shadowgate_shadow_requests_total", dimensions: [
                ("route", route), ("model", model.rawValue), ("outcome", outcome.rawValue),
            ])
            cache[key] = counter
            return counter
        }.increment()
    }

    func shadowSkipped(route: String, reason: ShadowSkipReason) {
        let key = SkipKey(route: route, reason: reason)
        skips.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: "shadowgate_shadow_skipped_total", dimensions: [
                ("route", route), ("reason", reason.rawValue),
            ])
            cache[key] = counter
            return counter
        }.increment()
    }

    /// Requests refused by the gateway itself (`not_found`, `body_too_large`, `bad_request`, …).
    func error(kind: String) {
        errors.withLock { cache in
            if let counter = cache[kind] { return counter }
            let counter = Counter(label: "shadowgate_errors_total", dimensions: [("kind", kind)])
            cache[kind] = counter
            return counter
        }.increment()
    }
}
