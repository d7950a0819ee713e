import Foundation
import Logging
import ServiceLifecycle
import ShadowGateConfig
import ShadowGateControl
import ShadowGateTLS
import ShadowGateTesting
import Testing
@testable import ShadowGateAdmin

/// The admin API listener with `admin.tls`, checked with the `curl` CLI.
@Suite("Admin API over TLS")
struct AdminTLSTests {
    static func curl(_ arguments: [String]) async throws -> String {
        try await runCurl(["-w", "\n%{http_code}"] + arguments).output
    }

    @Test("with admin.tls the admin API answers over HTTPS (a refusal decided without the database) and not in plain HTTP")
    func answersOverTLS() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let port = try Self.freePort()
        let tls = try ListenerTLS(config: ListenerTLSConfig(certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, configKey: "admin.tls"))
        var logger = Logger(label: "test.admin-tls")
        logger.logLevel = .critical
        let server = AdminServer(
            address: HostPort(host: "127.0.0.1", port: port),
            api: AdminAPI(token: "t0ken", routes: [], database: SerialDatabase(connectionString: "postgresql://127.0.0.1:1/none", applicationName: "admin-tls-tests")),
            logger: logger, tls: tls)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
        let running = Task { try await group.run() }
        var answer = ""
        for _ in 0..<100 {
            answer = try await Self.curl(["--cacert", certs.caFile, "https://localhost:\(port)/admin/routes"])
            if answer.hasSuffix("\n401") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(answer.hasSuffix("\n401"), "\(answer)")
        #expect(answer.contains("bearer token is required"))
        let plain = try await Self.curl(["http://127.0.0.1:\(port)/admin/routes"])
        #expect(!plain.hasSuffix("\n401"))
        await group.triggerGracefulShutdown()
        try await running.value
    }

    static func freePort() throws -> Int {
        let port = try RefusingPort()
        return port.port
    }
}
