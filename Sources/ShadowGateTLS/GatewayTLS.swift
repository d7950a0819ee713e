import ShadowGateConfig
import ShadowGateRouting

/// Every TLS context a gateway configuration needs, loaded once at start-up.
///
/// Building it is the start-up check of the configuration's certificate files: a missing,
/// unreadable or expired file throws a ``ConfigError`` naming its key, before anything listens.
public struct GatewayTLS: Sendable {
    /// Per route (config order), per model: the client side for `https://` upstreams.
    public let upstreams: [[ModelRole: UpstreamTLSContext]]
    /// The client listener's TLS (`tls`); ALPN offers `h2` and `http/1.1` unless told otherwise.
    public let listener: ListenerTLS?
    /// The admin listener's TLS (`admin.tls`).
    public let admin: ListenerTLS?
    /// The gRPC listener's TLS (`grpc.tls`); ALPN offers `h2` only (gRPC is HTTP/2).
    public let grpcListener: ListenerTLS?

    /// Every listener with TLS, for certificate reloads.
    public var listeners: [ListenerTLS] { [listener, admin, grpcListener].compactMap { $0 } }

    public init(config: GatewayConfig, listenerALPN: [String] = ["h2", "http/1.1"]) throws(ConfigError) {
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
        grpcListener = try config.grpc?.tls.map { tls throws(ConfigError) in try ListenerTLS(config: tls, alpn: ["h2"]) }
    }
}
