import Logging
import NIOCore
import ShadowGateConfig
import ShadowGateProxy
import ShadowGateTesting
import Testing

/// A gateway that cannot start (its address taken, its certificate missing) says why and leaves
/// nothing running behind: its event loops are released before `start()` throws.
@Suite("Gateway server start failures")
struct GatewayServerStartTests {
    static func server(port: Int, tls: ListenerTLSConfig? = nil) -> GatewayServer {
        let config = GatewayConfig(listen: HostPort(host: "127.0.0.1", port: port), eventLoops: 1, routes: [], listenTLS: tls)
        var logger = Logger(label: "test.server-start")
        logger.logLevel = .critical
        return GatewayServer(config: config, sink: CollectingPairSink(), logger: logger)
    }

    @Test("address taken: start throws, the failed server is stopped, the one holding the address still serves")
    func addressTaken() async throws {
        let first = Self.server(port: 0)
        let port = try await first.start().port!
        let second = Self.server(port: port)
        await #expect(throws: (any Error).self) { try await second.start() }
        #expect(second.isStopped, "the failed server kept its event loops")
        let client = try await TestHTTPClient(port: port)
        #expect(try await client.send(.GET, "/healthz").status == 200)
        await client.close()
        await first.shutdown()
        #expect(first.isStopped)
    }

    @Test("listener certificate missing: start throws the configuration error, the server is stopped")
    func certificateMissing() async throws {
        let server = Self.server(port: 0, tls: ListenerTLSConfig(certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem"))
        await #expect(throws: ConfigError.self) { try await server.start() }
        #expect(server.isStopped)
    }
}
