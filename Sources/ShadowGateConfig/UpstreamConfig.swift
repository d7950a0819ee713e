/// One model server behind a route.
public struct UpstreamConfig: Sendable, Hashable {
    /// `http://host:port[/base]` or `https://host:port[/base]` as written in the config.
    public var url: String
    public var host: String
    public var port: Int
    /// A path prefix prepended to every forwarded path (empty for none, never ends in `/`).
    public var basePath: String
    /// Time allowed for a whole exchange (connect, send, full response).
    public var timeoutMillis: Int
    /// Most connections kept open to this upstream, across all event loops.
    public var poolSize: Int
    /// Most requests allowed to wait for a free connection before new ones are refused
    /// (legacy: 503 to the client; learner: the shadow is skipped as `pool_saturated`).
    public var maxWaiting: Int
    /// Where feedback (features + label) is posted, relative to the upstream (learner only).
    public var feedbackPath: String
    /// TLS settings; non-nil exactly when the URL is `https://` (verification on by default).
    public var tls: UpstreamTLSConfig?

    public init(
        url: String,
        timeoutMillis: Int = 1000,
        poolSize: Int = 64,
        maxWaiting: Int = 1024,
        feedbackPath: String = "/feedback"
    ) throws(ConfigError) {
        guard let parsed = UpstreamConfig.parseURL(url) else {
            throw ConfigError(key: "url", problem: "'\(url)' is not an http://host:port or https://host:port URL")
        }
        self.tls = parsed.https ? UpstreamTLSConfig() : nil
        self.url = url
        self.host = parsed.host
        self.port = parsed.port
        self.basePath = parsed.base
        self.timeoutMillis = timeoutMillis
        self.poolSize = poolSize
        self.maxWaiting = maxWaiting
        self.feedbackPath = feedbackPath
    }

    /// `host:port` for `Host` headers and messages.
    public var authority: String { port == (tls == nil ? 80 : 443) ? host : "\(host):\(port)" }

    static func parseURL(_ url: String) -> (host: String, port: Int, base: String, https: Bool)? {
        let https = url.hasPrefix("https://")
        guard https || url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(https ? "https://".count : "http://".count)
        let hostPart: Substring
        var base = ""
        if let slash = rest.firstIndex(of: "/") {
            hostPart = rest[..<slash]
            base = String(rest[slash...])
            while base.hasSuffix("/") { base.removeLast() }
        } else {
            hostPart = rest
        }
        guard !hostPart.isEmpty else { return nil }
        if let hp = HostPort(parsing: String(hostPart)), !hp.host.isEmpty, hp.port > 0 {
            return (hp.host, hp.port, base, https)
        }
        guard !hostPart.contains(":") else { return nil }
        return (String(hostPart), https ? 443 : 80, base, https)
    }
}
