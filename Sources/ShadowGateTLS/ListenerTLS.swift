import Foundation
import Logging
import NIOSSL
import ShadowGateConfig
import Synchronization

/// The TLS server side of one listener, with a certificate that can be replaced while it runs.
///
/// Promises: every new connection gets the most recent certificate that loaded; connections
/// already open keep the one they started with. ``reload()`` (SIGHUP, or ``watch(logger:)`` when
/// the files' modification times change) re-reads the files; if they fail to load (half-written,
/// expired) the previous certificate stays in use and the failure is returned or logged.
/// ALPN offers `alpn` (default `http/1.1`).
public final class ListenerTLS: Sendable {
    public let config: ListenerTLSConfig
    private let alpn: [String]
    private let state: Mutex<State>

    private struct State {
        var context: NIOSSLContext
        var stamps: [Date?]
        var loads = 1
    }

    /// Loads the certificate, key and client CA.
    ///
    /// - Throws: ``ConfigError`` naming the key of a missing, unreadable or expired file.
    public init(config: ListenerTLSConfig, alpn: [String] = ["http/1.1"]) throws(ConfigError) {
        self.config = config
        self.alpn = alpn
        let context = try Self.makeContext(config, alpn: alpn)
        state = Mutex(State(context: context, stamps: Self.stamps(config)))
    }

    /// The context for a new connection.
    public var context: NIOSSLContext { state.withLock { $0.context } }

    /// How many times a certificate was loaded (1 after start-up); lets tests and logs see reloads.
    public var loadCount: Int { state.withLock { $0.loads } }

    /// A server handler for one new connection, with the current certificate.
    public func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context)
    }

    /// Re-reads the files now. On failure the previous certificate stays in use.
    public func reload() throws(ConfigError) {
        let stamps = Self.stamps(config)
        let context = try Self.makeContext(config, alpn: alpn)
        state.withLock {
            $0.context = context
            $0.stamps = stamps
            $0.loads += 1
        }
    }

    /// Reloads when a file's modification time changed since the last load; returns whether it did.
    @discardableResult
    public func reloadIfChanged(logger: Logger) -> Bool {
        let stamps = Self.stamps(config)
        guard stamps != state.withLock({ $0.stamps }) else { return false }
        do {
            try reload()
            logger.notice("TLS certificate reloaded", metadata: ["key": "\(config.configKey)", "cert_file": "\(config.certFile)"])
            return true
        } catch {
            // Remember the stamps so a broken file is reported once, not every check.
            state.withLock { $0.stamps = stamps }
            logger.error("TLS certificate reload failed; the previous certificate stays in use", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Checks the files every `reloadCheckMillis` until the task is cancelled (nil when checking is off).
    public func watch(logger: Logger) -> Task<Void, Never>? {
        let interval = config.reloadCheckMillis
        guard interval > 0 else { return nil }
        return Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(interval))
                if Task.isCancelled { return }
                reloadIfChanged(logger: logger)
            }
        }
    }

    private static func stamps(_ config: ListenerTLSConfig) -> [Date?] {
        [config.certFile, config.keyFile, config.clientCAFile].map { path in
            guard let path else { return nil }
            return (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }
    }

    private static func makeContext(_ config: ListenerTLSConfig, alpn: [String]) throws(ConfigError) -> NIOSSLContext {
        let chain = try TLSFiles.certificateChain(config.certFile, key: "\(config.configKey).cert_file")
        let key = try TLSFiles.privateKey(config.keyFile, key: "\(config.configKey).key_file")
        var configuration: TLSConfiguration
        if let caFile = config.clientCAFile {
            let roots = try TLSFiles.trustedCertificates(caFile, key: "\(config.configKey).client_ca_file")
            configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key), trustRoots: .certificates(roots))
            // Clients are identified by certificate, not by name.
            configuration.certificateVerification = .noHostnameVerification
        } else {
            configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
        configuration.applicationProtocols = alpn
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigError(key: config.configKey, problem: "the certificate and key cannot be used together: \(TLSFailure.describe(error))")
        }
    }
}
