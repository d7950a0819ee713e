import Foundation
import Logging
import ShadowGateConfig
import ShadowGateProxy
import ShadowGateTLS
import ShadowGateTesting
import Testing

/// The client listener over TLS, checked with the `curl` CLI as the client.
@Suite("TLS on the client listener")
struct ListenerTLSTests {
    struct Curl {
        var status: Int32
        var output: String
    }

    /// Runs curl against the gateway; `-w` appends the HTTP version and status.
    static func curl(_ arguments: [String]) async throws -> Curl {
        let run = try await runCurl(["-w", "\n%{http_version} %{http_code}"] + arguments)
        return Curl(status: run.status, output: run.output)
    }

    static func start(_ tls: ListenerTLSConfig) async throws -> (GatewayServer, UpstreamStub, UpstreamStub, Int) {
        let legacy = try await UpstreamStub(.json(GatewayHarness.legacyBody))
        let learner = try await UpstreamStub(.json(GatewayHarness.learnerBody))
        let config = GatewayConfig(
            listen: HostPort(host: "127.0.0.1", port: 0), eventLoops: 1,
            routes: [RouteConfig(
                name: "churn", match: ["/v2/models/churn/infer"], inferenceProtocol: .oipV2, mode: .shadow,
                legacy: try UpstreamConfig(url: legacy.url), learner: try UpstreamConfig(url: learner.url))],
            listenTLS: tls)
        var logger = Logger(label: "test.listener-tls")
        logger.logLevel = .warning
        let server = GatewayServer(config: config, sink: CollectingPairSink(), logger: logger)
        let address = try await server.start()
        return (server, legacy, learner, address.port!)
    }

    @Test("a TLS client listener answers over HTTP/1.1 and h2 (ALPN offers both); plain HTTP is refused")
    func answersOverTLS() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let (server, legacy, learner, port) = try await Self.start(ListenerTLSConfig(certFile: certs.serverCertFile, keyFile: certs.serverKeyFile))
        let url = "https://localhost:\(port)/v2/models/churn/infer"
        let ok = try await Self.curl(["--http1.1", "--cacert", certs.caFile, "-d", inferBody, "-H", "content-type: application/json", url])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output == GatewayHarness.legacyBody + "\n1.1 200")
        // curl asks for h2 first, and the listener serves it (ListenerHTTP2Tests has the rest).
        let alpn = try await Self.curl(["--http2", "--cacert", certs.caFile, "-d", inferBody, url])
        #expect(alpn.output == GatewayHarness.legacyBody + "\n2 200", "\(alpn.output)")
        let untrusted = try await Self.curl(["--cacert", certs.otherCAFile, "-d", inferBody, url])
        #expect(untrusted.status != 0)
        let plain = try await Self.curl(["-d", inferBody, "http://127.0.0.1:\(port)/v2/models/churn/infer"])
        #expect(!plain.output.hasSuffix(" 200"))
        await server.shutdown()
        await legacy.stop()
        await learner.stop()
    }

    @Test("with client_ca_file, clients without a certificate from that CA are refused")
    func mutualTLS() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let (server, legacy, learner, port) = try await Self.start(
            ListenerTLSConfig(certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, clientCAFile: certs.caFile))
        let url = "https://localhost:\(port)/v2/models/churn/infer"
        let without = try await Self.curl(["--cacert", certs.caFile, "-d", inferBody, url])
        #expect(!without.output.hasSuffix(" 200"), "\(without.output)")
        let with = try await Self.curl(["--http1.1", "--cacert", certs.caFile, "--cert", certs.clientCertFile, "--key", certs.clientKeyFile, "-d", inferBody, url])
        #expect(with.output == GatewayHarness.legacyBody + "\n1.1 200")
        await server.shutdown()
        await legacy.stop()
        await learner.stop()
    }

    @Test("a changed certificate file is picked up without a restart; a broken one keeps the previous certificate")
    func reloadsCertificate() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let certFile = certs.path("live.pem")
        let keyFile = certs.path("live.key")
        try FileManager.default.copyItem(atPath: certs.serverCertFile, toPath: certFile)
        try FileManager.default.copyItem(atPath: certs.serverKeyFile, toPath: keyFile)
        let listener = try ListenerTLS(config: ListenerTLSConfig(certFile: certFile, keyFile: keyFile, reloadCheckMillis: 0))
        let config = ListenerTLSConfig(certFile: certFile, keyFile: keyFile)
        let (server, legacy, learner, port) = try await Self.start(config)
        let url = "https://localhost:\(port)/v2/models/churn/infer"
        #expect(try await Self.curl(["--http1.1", "--cacert", certs.caFile, "-d", inferBody, url]).output.hasSuffix("1.1 200"))

        var logger = Logger(label: "test.reload")
        logger.logLevel = .critical
        #expect(listener.reloadIfChanged(logger: logger) == false)
        // Replace the pair with the other CA's certificate (modification times move forward).
        try Data(contentsOf: URL(fileURLWithPath: certs.otherServerCertFile)).write(to: URL(fileURLWithPath: certFile))
        try Data(contentsOf: URL(fileURLWithPath: certs.otherServerKeyFile)).write(to: URL(fileURLWithPath: keyFile))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: certFile)
        #expect(listener.reloadIfChanged(logger: logger) == true)
        #expect(listener.loadCount == 2)
        // The server's own watcher (every 5 s by default) is not what this test waits for: reload it now.
        try server.reloadListenerCertificate()
        #expect(try await Self.curl(["--http1.1", "--cacert", certs.otherCAFile, "-d", inferBody, url]).output.hasSuffix("1.1 200"))
        #expect(try await Self.curl(["--cacert", certs.caFile, "-d", inferBody, url]).status != 0)

        // A half-written file: the reload fails, the previous certificate stays.
        try Data("-----BEGIN CERTIFICATE-----\nnot base64\n".utf8).write(to: URL(fileURLWithPath: certFile))
        #expect(throws: ConfigError.self) { try server.reloadListenerCertificate() }
        #expect(try await Self.curl(["--http1.1", "--cacert", certs.otherCAFile, "-d", inferBody, url]).output.hasSuffix("1.1 200"))
        await server.shutdown()
        await legacy.stop()
        await learner.stop()
    }
}
