import CoreMetrics
import ShadowGatePairRecord
import ShadowGateRouting
import Synchronization

/// The gRPC listener's Prometheus metrics, named like the REST ones with a `grpc_` infix (their
/// label sets differ, so they are separate families):
///
/// - `shadowgate_grpc_requests_total{route,method,served_by,grpc_status}`: every call answered,
///   with the `grpc-status` the client got (`served_by="gateway"` for the gateway's own errors;
///   `route=""` when no route matched);
/// - `shadowgate_grpc_upstream_latency_seconds{route,model}` (histogram);
/// - `shadowgate_grpc_shadow_requests_total{route,model,outcome}`: mirrored calls by outcome;
/// - `shadowgate_grpc_shadow_skipped_total{route,reason}`.
///
/// `method` is the OIP method name (`ModelInfer`, `ModelReady`, …) or `other`, so a client cannot
/// grow the label set. Counters are made on first use and cached.
final class GRPCMetrics: Sendable {
    private struct Key: Hashable {
        var name: String
        var labels: [String]
    }

    static let methods: Set<String> = [
        "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer",
        "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload",
    ]

    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: Timer]>([:])

    /// The `method` label of a `:path` such as `/inference.GRPCInferenceService/ModelInfer`.
    static func method(path: String) -> String {
        guard path.hasPrefix("/inference.GRPCInferenceService/") else { return "other" }
        let name = String(path.dropFirst("/inference.GRPCInferenceService/".count))
        return methods.contains(name) ? name : "other"
    }

    func request(route: String, path: String, servedBy: String, grpcStatus: Int?) {
        counter("shadowgate_grpc_requests_total", [
            ("route", route), ("method", Self.method(path: path)), ("served_by", servedBy),
            ("grpc_status", grpcStatus.map(String.init) ?? "missing"),
        ]).increment()
    }

    func upstreamLatency(route: String, model: ModelRole, micros: Int64) {
        let key = Key(name: "shadowgate_grpc_upstream_latency_seconds", labels: [route, model.rawValue])
        timers.withLock { cache in
            if let timer = cache[key] { return timer }
            let timer = Timer(label: key.name, dimensions: [("route", route), ("model", model.rawValue)], preferredDisplayUnit: .seconds)
            cache[key] = timer
            return timer
        }.recordMicroseconds(micros)
    }

    func shadow(route: String, model: ModelRole, outcome: SideOutcome) {
        counter("shadowgate_grpc_shadow_requests_total", [("route", route), ("model", model.rawValue), ("outcome", outcome.rawValue)]).increment()
    }

    func shadowSkipped(route: String, reason: ShadowSkipReason) {
        counter("shadowgate_grpc_shadow_skipped_total", [("route", route), ("reason", reason.rawValue)]).increment()
    }

    private func counter(_ name: String, _ dimensions: [(String, String)]) -> Counter {
        let key = Key(name: name, labels: dimensions.map(\.1))
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: name, dimensions: dimensions)
            cache[key] = counter
            return counter
        }
    }
}
