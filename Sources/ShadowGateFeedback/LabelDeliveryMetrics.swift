import Metrics
import Synchronization

/// The deliverer's swift-metrics instruments (names are the Prometheus names):
/// `shadowgate_feedback_joined_total`, `…_delivered_total{route}`, `…_delivery_retries_total{route}`,
/// `…_rejected_total{route}` (learner answered 4xx), `…_skipped_total{reason}`,
/// `…_unmatched_total` (gave up waiting for the prediction), gauges `…_pending`, `…_waiting`,
/// `…_delivery_lag_seconds`, `…_deliverer_leader`, and the histogram `…_label_delay_seconds`
/// (prediction → label).
final class LabelDeliveryMetrics: Sendable {
    let joined = Counter(label: "shadowgate_feedback_joined_total")
    let unmatched = Counter(label: "shadowgate_feedback_unmatched_total")
    let pending = Gauge(label: "shadowgate_feedback_pending")
    let waiting = Gauge(label: "shadowgate_feedback_waiting")
    let lag = Gauge(label: "shadowgate_feedback_delivery_lag_seconds")
    let leader = Gauge(label: "shadowgate_feedback_deliverer_leader")
    let delay = Metrics.Timer(label: "shadowgate_feedback_label_delay_seconds", preferredDisplayUnit: .seconds)
    private let perRoute = Mutex<[String: (delivered: Counter, retried: Counter, rejected: Counter)]>([:])
    private let skips = Mutex<[String: Counter]>([:])

    init(routes: [String]) {
        for route in routes { _ = counters(route) }
    }

    func counters(_ route: String) -> (delivered: Counter, retried: Counter, rejected: Counter) {
        perRoute.withLock { map in
            if let c = map[route] { return c }
            let c = (Counter(label: "shadowgate_feedback_delivered_total", dimensions: [("route", route)]),
                     Counter(label: "shadowgate_feedback_delivery_retries_total", dimensions: [("route", route)]),
                     Counter(label: "shadowgate_feedback_rejected_total", dimensions: [("route", route)]))
            map[route] = c
            return c
        }
    }

    func skipped(_ reason: String, count: Int) {
        guard count > 0 else { return }
        let counter = skips.withLock { map in
            if let c = map[reason] { return c }
            let c = Counter(label: "shadowgate_feedback_skipped_total", dimensions: [("reason", reason)])
            map[reason] = c
            return c
        }
        counter.increment(by: count)
    }
}
