import ShadowGateConfig
import ShadowGateRouting

/// Every TLS context a gateway configuration needs, loaded once at start-up.
///
/// Building it is the start-up check of the configuration's certificate files: a missing,
/// unreadable or expired file throws a ``ConfigError`` naming its key, before anything listens.
public struct GatewayTLS: Sendable {
    /// Per route (config order), per model: the client side for `https://` upstreams.
    public let upstreams: [[ModelRole: UpstreamTLSContext]]
    /// The client listener's TLS (`tls`).
    public let listener: ListenerTLS?
    /// The admin listener's TLS (`admin.tls`).
    public let admin: ListenerTLS?

    public init(config: GatewayConfig, listenerALPN: [String] = ["http/1.1"]) throws(ConfigError) {
        var upstreams: [[ModelRole: UpstreamTLSContext]] = []
        for (index, route) in config.routes.enumerated() {
            var byRole: [ModelRole: UpstreamTLSContext] = [:]
            for role in ModelRole.allCases {
                guard let upstream = route.upstream(role), var tls = upstream.tls else { continue }
                if tls.configKey == "tls" { tls.configKey = "routes[\(index)].\(role.rawValue).tls" }
                var keyed = upstream
                keyed.tls = tls
                byRole[role] = try UpstreamTLSContext(upstream: keyed)
            }
            upstreams.append(byRole)
        }
        self.upstreams = upstreams
        listener = try config.listenTLS.map { tls throws(ConfigError) in try ListenerTLS(config: tls, alpn: listenerALPN) }
        admin = try config.adminTLS.map { tls throws(ConfigError) in try ListenerTLS(config: tls) }
    }
}
