import NIOCore
import ShadowGateConfig
import ShadowGateRouting
import ShadowGateTLS

/// The gRPC upstream connections of one event loop: one HTTP/2 connection per gRPC route and model.
/// Confined to `eventLoop` (hence `@unchecked Sendable`).
final class GRPCLoopUpstreams: @unchecked Sendable {
    let eventLoop: EventLoop
    private let connections: [[ModelRole: GRPCUpstreamConnection]]

    init(eventLoop: EventLoop, config: GRPCConfig, loopCount: Int, maxResponseBytes: Int, tls: [[ModelRole: UpstreamTLSContext]]) {
        self.eventLoop = eventLoop
        connections = config.routes.enumerated().map { index, route in
            var byRole: [ModelRole: GRPCUpstreamConnection] = [:]
            for role in ModelRole.allCases {
                guard let upstream = role == .legacy ? route.legacy : route.learner else { continue }
                byRole[role] = GRPCUpstreamConnection(
                    eventLoop: eventLoop, upstream: upstream, tls: index < tls.count ? tls[index][role] : nil,
                    maxConcurrentCalls: max(1, upstream.poolSize / loopCount), maxResponseBytes: maxResponseBytes)
            }
            return byRole
        }
    }

    func connection(route: Int, role: ModelRole) -> GRPCUpstreamConnection? {
        connections[route][role]
    }

    func shutdown() {
        for byRole in connections { for connection in byRole.values { connection.shutdown() } }
    }
}
