import NIOCore
import NIOSSL
import ShadowGateConfig

/// The TLS client side for one `https://` upstream: a context made once at start-up and shared
/// by every connection of its pools (connections are pooled, so a handshake happens per
/// connection, never per request).
public struct UpstreamTLSContext: Sendable {
    public let context: NIOSSLContext
    /// Sent as SNI and checked against the certificate; nil for an IP address host (checked
    /// against the certificate's IP entries instead).
    public let serverHostname: String?

    /// Loads the CA file and client certificate the upstream's `tls` names; ALPN offers `alpn`
    /// (`http/1.1` for REST upstreams, `h2` for gRPC ones).
    ///
    /// - Throws: ``ConfigError`` naming the key of a missing, unreadable or expired file.
    public init(upstream: UpstreamConfig, alpn: [String] = ["http/1.1"]) throws(ConfigError) {
        let tls = upstream.tls ?? UpstreamTLSConfig()
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = alpn
        if tls.verify {
            configuration.certificateVerification = .fullVerification
            if let caFile = tls.caFile {
                let roots = try TLSFiles.trustedCertificates(caFile, key: "\(tls.configKey).ca_file")
                configuration.trustRoots = .certificates(roots)
            } else {
                configuration.trustRoots = .default
            }
        } else {
            configuration.certificateVerification = .none
        }
        if let certFile = tls.certFile, let keyFile = tls.keyFile {
            let chain = try TLSFiles.certificateChain(certFile, key: "\(tls.configKey).cert_file")
            let key = try TLSFiles.privateKey(keyFile, key: "\(tls.configKey).key_file")
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigError(key: tls.configKey, problem: "TLS settings refused: \(TLSFailure.describe(error))")
        }
        let name = tls.serverName ?? upstream.host
        serverHostname = Self.isIPAddress(name) ? nil : name
    }

    /// A fresh handler for one new connection.
    public func makeHandler() throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
