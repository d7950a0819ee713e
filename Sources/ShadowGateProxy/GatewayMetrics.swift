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
    // Per-request lookups index arrays ([route][role][status or outcome], in the order of the lists
    // below): a dictionary keyed by an enum costs a hash per lookup, and a request makes several.
    private static let roles: [ModelRole] = [.legacy, .learner]  // the order of `slot(_:)`
    private static let outcomes = SideOutcome.allCases
    private static let reasons = ShadowSkipReason.allCases
    private let commonStatuses: [[[Counter]]]
    private let otherStatuses = Mutex<[StatusKey: Counter]>([:])
    private let latencies: [[Timer]]
    private let shadows: [[[Counter]]]
    private let skips: [[Counter]]
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
            Self.roles.map { role in
                Self.statuses.map { status in
                    Counter(label: "shadowgate_requests_total", dimensions: [
                        ("route", route), ("served_by", role.rawValue), ("status", String(status)),
                    ])
                }
            }
        }
        latencies = routes.map { route in
            Self.roles.map { role in
                Timer(label: "shadowgate_upstream_latency_seconds", dimensions: [
                    ("route", route), ("model", role.rawValue),
                ], preferredDisplayUnit: .seconds)
            }
        }
        shadows = routes.map { route in
            Self.roles.map { role in
                Self.outcomes.map { outcome in
                    Counter(label: "shadowgate_shadow_requests_total", dimensions: [
                        ("route", route), ("model", role.rawValue), ("outcome", outcome.rawValue),
                    ])
                }
            }
        }
        skips = routes.map { route in
            Self.reasons.map { reason in
                Counter(label: "shadowgate_shadow_skipped_total", dimensions: [
                    ("route", route), ("reason", reason.rawValue),
                ])
            }
        }
        errors = Dictionary(uniqueKeysWithValues: Self.errorKinds.map { kind in
            (kind, Counter(label: "shadowgate_errors_total", dimensions: [("kind", kind)]))
        })
    }

    func request(route: Int, servedBy: ModelRole, status: Int) {
        if let slot = Self.statuses.firstIndex(of: status) {
            commonStatuses[route][Self.slot(servedBy)][slot].increment()
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
        latencies[route][Self.slot(model)].recordMicroseconds(micros)
    }

    func shadow(route: Int, model: ModelRole, outcome: SideOutcome) {
        shadows[route][Self.slot(model)][Self.outcomes.firstIndex(of: outcome)!].increment()
    }

    func shadowSkipped(route: Int, reason: ShadowSkipReason) {
        skips[route][Self.reasons.firstIndex(of: reason)!].increment()
    }

    private static func slot(_ role: ModelRole) -> Int { role == .legacy ? 0 : 1 }

    /// Requests refused by the gateway itself; `kind` is one of ``errorKinds``.
    func error(kind: String) {
        errors[kind]?.increment()
    }
}
