import CoreMetrics
import ShadowGatePairRecord
import ShadowGateRouting
import Synchronization

/// The data path's Prometheus metrics, created up front per route so a request pays no factory
/// lookup, hashing or lock (only the counters' own atomic increments).
///
/// Names (all prefixed `shadowgate_`): `requests_total{route,served_by,status}`,
/// `upstream_latency_seconds{route,model}` (histogram), `shadow_requests_total{route,model,outcome}`,
/// `shadow_skipped_total{route,reason}`, `sink_dropped_total`, `errors_total{kind}`, `feedback_total{outcome}`.
public final class GatewayMetrics: Sendable {
    private struct StatusKey: Hashable { var route: Int; var role: ModelRole; var status: Int }

    private let routes: [String]
    /// Counters of the statuses seen most, per route and role; others are made on first use.
    private let commonStatuses: [[ModelRole: [Int: Counter]]]
    private let otherStatuses = Mutex<[StatusKey: Counter]>([:])
    private let latencies: [[ModelRole: Timer]]
    private let shadows: [[ModelRole: [SideOutcome: Counter]]]
    private let skips: [[ShadowSkipReason: Counter]]
    private let errors: [String: Counter]
    let sinkDropped = Counter(label: "shadowgate_sink_dropped_total")

    /// What happened to feedback labels at `POST /v1/feedback` (`shadowgate_feedback_total{outcome}`):
    /// received (valid labels), stored (taken by the writer), refused (writer queue full), invalid
    /// (bodies refused with 400). Delivery to the learner is counted by the deliverer (`shadowgate_feedback_delivered_total`, …).
    enum FeedbackOutcome: String, CaseIterable {
        case received, stored, refused, invalid
    }
    private let feedbackCounters: [FeedbackOutcome: Counter] = Dictionary(uniqueKeysWithValues: FeedbackOutcome.allCases.map {
        ($0, Counter(label: "shadowgate_feedback_total", dimensions: [("outcome", $0.rawValue)]))
    })

    func feedback(_ outcome: FeedbackOutcome, count: Int = 1) {
        guard count > 0 else { return }
        feedbackCounters[outcome]?.increment(by: count)
    }

    static let errorKinds = ["not_found", "body_too_large", "bad_request", "client_timeout", "connection_limit"]
    private static let statuses = [200, 201, 204, 400, 404, 422, 429, 500, 502, 503, 504]

    public init(routes: [String]) {
        self.routes = routes
        commonStatuses = routes.map { route in
            Dictionary(uniqueKeysWithValues: ModelRole.allCases.map { role in
                (role, Dictionary(uniqueKeysWithValues: Self.statuses.map { status in
                    (status, Counter(label: "shadowgate_requests_total", dimensions: [
                        ("route", route), ("served_by", role.rawValue), ("status", String(status)),
                    ]))
                }))
            })
        }
        latencies = routes.map { route in
            Dictionary(uniqueKeysWithValues: ModelRole.allCases.map { role in
                (role, Timer(label: "shadowgate_upstream_latency_seconds", dimensions: [
                    ("route", route), ("model", role.rawValue),
                ], preferredDisplayUnit: .seconds))
            })
        }
        shadows = routes.map { route in
            Dictionary(uniqueKeysWithValues: ModelRole.allCases.map { role in
                (role, Dictionary(uniqueKeysWithValues: SideOutcome.allCases.map { outcome in
                    (outcome, Counter(label: "shadowgate_shadow_requests_total", dimensions: [
                        ("route", route), ("model", role.rawValue), ("outcome", outcome.rawValue),
                    ]))
                }))
            })
        }
        skips = routes.map { route in
            Dictionary(uniqueKeysWithValues: ShadowSkipReason.allCases.map { reason in
                (reason, Counter(label: "shadowgate_shadow_skipped_total", dimensions: [
                    ("route", route), ("reason", reason.rawValue),
                ]))
            })
        }
        errors = Dictionary(uniqueKeysWithValues: Self.errorKinds.map { kind in
            (kind, Counter(label: "shadowgate_errors_total", dimensions: [("kind", kind)]))
        })
    }

    func request(route: Int, servedBy: ModelRole, status: Int) {
        if let counter = commonStatuses[route][servedBy]?[status] {
            counter.increment()
            return
        }
        let key = StatusKey(route: route, role: servedBy, status: status)
        otherStatuses.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: "shadowgate_requests_total", dimensions: [
                ("route", routes[route]), ("served_by", servedBy.rawValue), ("status", String(status)),
            ])
            cache[key] = counter
            return counter
        }.increment()
    }

    func upstreamLatency(route: Int, model: ModelRole, micros: Int64) {
        latencies[route][model]?.recordMicroseconds(micros)
    }

    func shadow(route: Int, model: ModelRole, outcome: SideOutcome) {
        shadows[route][model]?[outcome]?.increment()
    }

    func shadowSkipped(route: Int, reason: ShadowSkipReason) {
        skips[route][reason]?.increment()
    }

    /// Requests refused by the gateway itself; `kind` is one of ``errorKinds``.
    func error(kind: String) {
        errors[kind]?.increment()
    }
}
