import ShadowGateConfig

extension GatewayConfig {
    /// An upstream's `tls` mapping; only an `https://` URL may have one.
    static func readUpstreamTLS(_ node: ConfigNode, url: String) throws(ConfigError) -> UpstreamTLSConfig {
        guard url.hasPrefix("https://") else { throw node.fail("only an https:// upstream url takes 'tls' settings") }
        let map = try node.mapping(allowed: ["verify", "ca_file", "cert_file", "key_file", "server_name"])
        var tls = UpstreamTLSConfig(configKey: node.path)
        if let n = map["verify"] { tls.verify = try n.bool() }
        if let n = map["ca_file"] { tls.caFile = try n.nonEmptyString() }
        if let n = map["cert_file"] { tls.certFile = try n.nonEmptyString() }
        if let n = map["key_file"] { tls.keyFile = try n.nonEmptyString() }
        if let n = map["server_name"] { tls.serverName = try n.nonEmptyString() }
        if (tls.certFile == nil) != (tls.keyFile == nil) {
            throw node.fail("'cert_file' and 'key_file' go together (a client certificate needs its key)")
        }
        if !tls.verify, tls.caFile != nil {
            throw node.fail("'ca_file' has no effect with 'verify: false'")
        }
        return tls
    }

    /// A listener's `tls` mapping (client listener or admin API).
    static func readListenerTLS(_ node: ConfigNode) throws(ConfigError) -> ListenerTLSConfig {
        let map = try node.mapping(allowed: ["cert_file", "key_file", "client_ca_file", "reload_check_ms"])
        guard let cert = map["cert_file"] else { throw node.fail("'cert_file' is required") }
        guard let key = map["key_file"] else { throw node.fail("'key_file' is required") }
        var tls = ListenerTLSConfig(certFile: try cert.nonEmptyString(), keyFile: try key.nonEmptyString(), configKey: node.path)
        if let n = map["client_ca_file"] { tls.clientCAFile = try n.nonEmptyString() }
        if let n = map["reload_check_ms"] { tls.reloadCheckMillis = try n.int(in: 0...86_400_000) }
        return tls
    }
}
