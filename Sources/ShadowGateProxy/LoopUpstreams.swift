import NIOCore
import ShadowGateConfig
import ShadowGateRouting
import ShadowGateTLS

/// The upstream pools of one event loop: one per route and model.
///
/// Each loop has its own pools so a request never leaves the loop its client connection lives on;
/// a route's `pool` size is split between the loops. Confined to `eventLoop` (hence `@unchecked Sendable`:
/// it is only handed across threads to be stored, never used off its loop).
final class LoopUpstreams: @unchecked Sendable {
    let eventLoop: EventLoop
    private let pools: [[ModelRole: UpstreamPool]]
    /// Request ids for requests that come without one.
    var requestIDs = RequestIDGenerator()

    init(eventLoop: EventLoop, config: GatewayConfig, loopCount: Int, tls: [[ModelRole: UpstreamTLSContext]] = []) {
        self.eventLoop = eventLoop
        let idle = TimeAmount.milliseconds(Int64(config.limits.upstreamIdleMillis))
        pools = config.routes.enumerated().map { index, route in
            var byRole: [ModelRole: UpstreamPool] = [:]
            for role in ModelRole.allCases {
                guard let upstream = route.upstream(role) else { continue }
                byRole[role] = UpstreamPool(
                    eventLoop: eventLoop, upstream: upstream,
                    maxConnections: max(1, upstream.poolSize / loopCount),
                    maxResponseBytes: config.limits.maxResponseBytes, idleTimeout: idle,
                    tls: index < tls.count ? tls[index][role] : nil)
            }
            return byRole
        }
    }

    func pool(route: Int, role: ModelRole) -> UpstreamPool? {
        pools[route][role]
    }

    func shutdown() {
        eventLoop.assertInEventLoop()
        for byRole in pools { for pool in byRole.values { pool.shutdown() } }
    }
}
