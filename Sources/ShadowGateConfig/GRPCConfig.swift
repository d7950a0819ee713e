/// The gRPC listener and its routes (`grpc`): the Open Inference Protocol over HTTP/2.
///
/// A gRPC route forwards the calls for some model names to its own (gRPC) upstreams and takes
/// its flags — mode, canary share, shadow sampling, sticky key — from the `routes[]` entry it
/// names, so its pairs land under that route next to the REST ones.
public struct GRPCConfig: Sendable, Hashable {
    /// `host:port` of the HTTP/2 listener (h2c without `tls`).
    public var listen: HostPort
    /// TLS on the listener (ALPN `h2`).
    public var tls: ListenerTLSConfig?
    /// Largest request or response message (default 4 MiB, gRPC's usual default); larger
    /// requests get RESOURCE_EXHAUSTED, larger responses are an error for that side.
    public var maxMessageBytes: Int
    public var routes: [GRPCRouteConfig]

    public init(listen: HostPort, tls: ListenerTLSConfig? = nil, maxMessageBytes: Int = 4 << 20, routes: [GRPCRouteConfig]) {
        self.listen = listen
        self.tls = tls
        self.maxMessageBytes = maxMessageBytes
        self.routes = routes
    }

    /// The route for a model name: the first listing it, else the first listing `*`; a call that
    /// names no model (server health and metadata) goes to the first route.
    public func routeIndex(model: String?) -> Int? {
        guard let model else { return routes.isEmpty ? nil : 0 }
        if let exact = routes.firstIndex(where: { $0.models.contains(model) }) { return exact }
        return routes.firstIndex { $0.models.contains("*") }
    }
}

/// One gRPC route (`grpc.routes[]`).
public struct GRPCRouteConfig: Sendable, Hashable {
    /// The `routes[]` entry whose flags and pair log this route shares.
    public var route: String
    /// Model names (`model_name` of ModelInfer, `name` of ModelReady/ModelMetadata); `*` for any.
    public var models: [String]
    /// `http://` (h2c) or `https://` (h2 over TLS) gRPC endpoint of each model.
    public var legacy: UpstreamConfig
    public var learner: UpstreamConfig?

    public init(route: String, models: [String], legacy: UpstreamConfig, learner: UpstreamConfig?) {
        self.route = route
        self.models = models
        self.legacy = legacy
        self.learner = learner
    }
}
