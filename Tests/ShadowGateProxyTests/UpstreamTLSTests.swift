import Foundation
import Logging
import NIOSSL
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateProxy
import ShadowGateTLS
import ShadowGateTesting
import Testing

/// `https://` upstreams with certificates made by `openssl` in the test: verification, mTLS,
/// pooling, and the 502 a client gets when TLS fails.
@Suite("TLS to upstreams")
struct UpstreamTLSTests {
    /// A gateway whose legacy and learner are the given stubs, reached at `legacyURL`/`learnerURL`.
    struct TLSGateway {
        let server: GatewayServer
        let sink: CollectingPairSink
        let port: Int

        static func start(legacy: UpstreamConfig, learner: UpstreamConfig) async throws -> TLSGateway {
            let config = GatewayConfig(
                listen: HostPort(host: "127.0.0.1", port: 0), eventLoops: 1,
                routes: [RouteConfig(name: "churn", match: ["/v2/models/churn/infer"], inferenceProtocol: .oipV2, mode: .shadow, legacy: legacy, learner: learner)])
            let sink = CollectingPairSink()
            var logger = Logger(label: "test.tls")
            logger.logLevel = .warning
            let server = GatewayServer(config: config, sink: sink, logger: logger)
            let address = try await server.start()
            return TLSGateway(server: server, sink: sink, port: address.port!)
        }

        func records(count: Int) async throws -> [PairRecord] {
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, sink.all.count < count { try await Task.sleep(for: .milliseconds(10)) }
            return sink.all
        }
    }

    static func upstream(_ url: String, ca: String? = nil, cert: String? = nil, key: String? = nil, timeout: Int = 2000) throws -> UpstreamConfig {
        var upstream = try UpstreamConfig(url: url, timeoutMillis: timeout, poolSize: 2)
        upstream.tls?.caFile = ca
        upstream.tls?.certFile = cert
        upstream.tls?.keyFile = key
        return upstream
    }

    @Test("an https upstream with the right CA answers; requests reuse one TLS connection; the host name is checked via SNI")
    func rightCAWorks() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let legacy = try await UpstreamStub(.json(GatewayHarness.legacyBody), tls: try certs.serverContext())
        let learner = try await UpstreamStub(.json(GatewayHarness.learnerBody), tls: try certs.serverContext())
        // One upstream by name (SNI + DNS name check), one by IP address (IP entry check).
        let gateway = try await TLSGateway.start(
            legacy: try Self.upstream("https://localhost:\(legacy.port)", ca: certs.caFile),
            learner: try Self.upstream("https://127.0.0.1:\(learner.port)", ca: certs.caFile))
        let client = try await TestHTTPClient(port: gateway.port)
        for index in 0..<3 {
            let response = try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
            #expect(response.status == 200)
            #expect(response.bodyString == GatewayHarness.legacyBody)
            // The client is answered before the mirrored exchange ends; waiting for its pair leaves
            // the learner's connection idle, so the next mirror can reuse it (else a second opens).
            _ = try await gateway.records(count: index + 1)
        }
        let records = try await gateway.records(count: 3)
        #expect(records.count == 3)
        #expect(records.allSatisfy { $0.learner.outcome == .ok && $0.learner.score == 0.75 })
        // Pooled: three exchanges, one handshake per side.
        #expect(legacy.connectionCount == 1)
        #expect(learner.connectionCount == 1)
        #expect(legacy.requests.first?.header("host") == "localhost:\(legacy.port)")
        await client.close()
        await gateway.server.shutdown()
        await legacy.stop()
        await learner.stop()
    }

    @Test("a legacy upstream signed by another CA is a 502 naming the upstream and verification; a learner's TLS failure never reaches the client")
    func wrongCAIs502() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let good = try await UpstreamStub(.json(GatewayHarness.legacyBody), tls: try certs.serverContext())
        let bad = try await UpstreamStub(.json(GatewayHarness.learnerBody), tls: try certs.serverContext())
        // Legacy fails verification: the client gets the gateway's 502.
        let gateway = try await TLSGateway.start(
            legacy: try Self.upstream("https://localhost:\(bad.port)", ca: certs.otherCAFile),
            learner: try Self.upstream("https://localhost:\(good.port)", ca: certs.caFile))
        let client = try await TestHTTPClient(port: gateway.port)
        let response = try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(response.status == 502)
        #expect(response.bodyString.contains("https://localhost:\(bad.port)"))
        #expect(response.bodyString.contains("certificate verification failed"), "\(response.bodyString)")
        #expect(bad.requests.isEmpty)
        await client.close()
        await gateway.server.shutdown()

        // Learner fails verification: the client gets the legacy answer; the record says why the learner failed.
        let gateway2 = try await TLSGateway.start(
            legacy: try Self.upstream("https://localhost:\(good.port)", ca: certs.caFile),
            learner: try Self.upstream("https://localhost:\(bad.port)", ca: certs.otherCAFile))
        let client2 = try await TestHTTPClient(port: gateway2.port)
        let served = try await client2.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(served.status == 200)
        #expect(served.bodyString == GatewayHarness.legacyBody)
        let record = try #require(try await gateway2.records(count: 1).first)
        #expect(record.learner.outcome != .ok)
        #expect(record.learner.error?.contains("certificate verification failed") == true, "\(record.learner.error ?? "nil")")
        await client2.close()
        await gateway2.server.shutdown()
        await good.stop()
        await bad.stop()
    }

    @Test("an upstream requiring a client certificate refuses the gateway without one (502) and accepts it with one")
    func mutualTLS() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let strict = try await UpstreamStub(.json(GatewayHarness.legacyBody), tls: try certs.serverContext(requireClientCertificate: true))
        let learner = try await UpstreamStub(.json(GatewayHarness.learnerBody))

        let without = try await TLSGateway.start(
            legacy: try Self.upstream("https://localhost:\(strict.port)", ca: certs.caFile),
            learner: try Self.upstream(learner.url))
        let client = try await TestHTTPClient(port: without.port)
        let refused = try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(refused.status == 502)
        #expect(refused.bodyString.contains("https://localhost:\(strict.port)"))
        #expect(refused.bodyString.contains("TLS"), "\(refused.bodyString)")
        #expect(strict.requests.isEmpty)
        await client.close()
        await without.server.shutdown()

        let with = try await TLSGateway.start(
            legacy: try Self.upstream("https://localhost:\(strict.port)", ca: certs.caFile, cert: certs.clientCertFile, key: certs.clientKeyFile),
            learner: try Self.upstream(learner.url))
        let client2 = try await TestHTTPClient(port: with.port)
        let accepted = try await client2.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(accepted.status == 200)
        #expect(accepted.bodyString == GatewayHarness.legacyBody)
        await client2.close()
        await with.server.shutdown()
        await strict.stop()
        await learner.stop()
    }

    @Test("missing or expired certificate files are refused at start-up with a sentence naming the config key")
    func badFilesRefusedAtStartUp() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let learner = try await UpstreamStub(.json(GatewayHarness.learnerBody))
        let missing = try Self.upstream("https://localhost:1", ca: certs.path("nope.pem"))
        let config = GatewayConfig(
            listen: HostPort(host: "127.0.0.1", port: 0), eventLoops: 1,
            routes: [RouteConfig(name: "churn", match: ["/x"], inferenceProtocol: .oipV2, mode: .shadow, legacy: missing, learner: try Self.upstream(learner.url))])
        #expect {
            _ = try GatewayTLS(config: config)
        } throws: { error in
            "\(error)" == "config key 'routes[0].legacy.tls.ca_file': file '\(certs.path("nope.pem"))' does not exist"
        }
        // The server refuses to start with the same sentence.
        let server = GatewayServer(config: config, sink: CollectingPairSink())
        await #expect(throws: ConfigError.self) { try await server.start() }
        await server.shutdown()

        let expired = try Self.upstream("https://localhost:1", ca: certs.caFile, cert: certs.expiredCertFile, key: certs.expiredKeyFile)
        var config2 = config
        config2.routes[0].legacy = expired
        #expect {
            _ = try GatewayTLS(config: config2)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("config key 'routes[0].legacy.tls.cert_file': the certificate in '\(certs.expiredCertFile)' expired on 2020-01-02")
        }
        var config3 = config
        config3.listenTLS = ListenerTLSConfig(certFile: certs.expiredCertFile, keyFile: certs.expiredKeyFile)
        config3.routes[0].legacy = try Self.upstream(learner.url)
        #expect {
            _ = try GatewayTLS(config: config3)
        } throws: { error in
            "\(error)".hasPrefix("config key 'tls.cert_file': the certificate in '\(certs.expiredCertFile)' expired")
        }
        await learner.stop()
    }
}
