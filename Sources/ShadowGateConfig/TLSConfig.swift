/// How the gateway speaks TLS to an `https://` upstream (the upstream's `tls` key).
///
/// Verification is on unless `verify` is false: the upstream's certificate must chain to the
/// system trust store, or to `caFile` when given, and name the host (or `serverName`).
public struct UpstreamTLSConfig: Sendable, Hashable {
    /// Check the upstream's certificate chain and name (default true).
    public var verify: Bool
    /// PEM file of the CA certificates to trust instead of the system store.
    public var caFile: String?
    /// PEM client certificate (chain) presented to the upstream (mTLS); needs `keyFile`.
    public var certFile: String?
    /// PEM private key of `certFile`.
    public var keyFile: String?
    /// The name sent as SNI and checked in the upstream's certificate (default: the URL's host,
    /// no SNI when the host is an IP address, which is then checked against the certificate's IP entries).
    public var serverName: String?
    /// The config key this came from (`routes[0].legacy.tls`), so start-up errors name it.
    public var configKey: String

    public init(
        verify: Bool = true, caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
        serverName: String? = nil, configKey: String = "tls"
    ) {
        self.verify = verify
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.configKey = configKey
    }
}

/// TLS on a listener (the client listener's `tls` key, or `admin.tls`).
///
/// The certificate and key are re-read when their files change (and on SIGHUP under `serve`);
/// a reload that fails keeps the previous certificate and is logged.
public struct ListenerTLSConfig: Sendable, Hashable {
    /// PEM certificate chain the listener presents.
    public var certFile: String
    /// PEM private key of `certFile`.
    public var keyFile: String
    /// PEM CA certificates a client certificate must chain to; when set, clients without one are refused (mTLS).
    public var clientCAFile: String?
    /// How often the files are checked for changes, in milliseconds (0: never, reload on SIGHUP only).
    public var reloadCheckMillis: Int
    /// The config key this came from (`tls`, `admin.tls`).
    public var configKey: String

    public init(certFile: String, keyFile: String, clientCAFile: String? = nil, reloadCheckMillis: Int = 5000, configKey: String = "tls") {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.reloadCheckMillis = reloadCheckMillis
        self.configKey = configKey
    }
}
