/// The whole gateway configuration, as read from YAML and validated.
///
/// Every key is documented in the README's configuration reference; ``GatewayConfig/parse(yaml:)``
/// refuses unknown keys and bad values with a ``ConfigError`` naming the key.
public struct GatewayConfig: Sendable, Hashable {
    /// The client-facing listener.
    public var listen: HostPort
    /// The admin API listener, if any.
    public var adminListen: HostPort?
    /// Event loop threads for the data path (default: one per core).
    public var eventLoops: Int
    public var limits: LimitsConfig
    public var database: DatabaseConfig
    public var feedback: FeedbackConfig
    public var routes: [RouteConfig]
    /// TLS on the client listener (`tls`), if any.
    public var listenTLS: ListenerTLSConfig?
    /// TLS on the admin API listener (`admin.tls`), if any.
    public var adminTLS: ListenerTLSConfig?
    /// The gRPC listener and routes (`grpc`), if any.
    public var grpc: GRPCConfig?
    /// How log lines are written: `text` (default, for people) or `json` (one object per line).
    public var logFormat: LogFormat

    public init(
        listen: HostPort,
        adminListen: HostPort? = nil,
        eventLoops: Int = Machine.coreCount,
        limits: LimitsConfig = LimitsConfig(),
        database: DatabaseConfig = DatabaseConfig(),
        feedback: FeedbackConfig = FeedbackConfig(),
        routes: [RouteConfig],
        listenTLS: ListenerTLSConfig? = nil,
        adminTLS: ListenerTLSConfig? = nil,
        logFormat: LogFormat = .text
    ) {
        self.listen = listen
        self.adminListen = adminListen
        self.eventLoops = eventLoops
        self.limits = limits
        self.database = database
        self.feedback = feedback
        self.routes = routes
        self.listenTLS = listenTLS
        self.adminTLS = adminTLS
        self.logFormat = logFormat
    }
}
