import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// gRPC over TLS both ways, the message size limit, `grpc-timeout` and the gRPC metrics, with
/// `shadowgate serve` processes in front of a real MLServer and a real gRPC client
/// (Scripts/grpc/oip_grpc_client.py, with `grpc.ssl_channel_credentials` for TLS).
///
/// MLServer serves gRPC in plaintext only, so the TLS upstream is a second gateway (the "edge")
/// with a TLS gRPC listener in front of MLServer: client → front (h2c) → `https://` → edge (h2 over
/// TLS) → MLServer. Skipped with a message when the Python environment cannot be installed.
@Suite("gRPC over TLS, limits and metrics against MLServer", .serialized)
struct GRPCTLSEndToEndTests {
    static let repo = GRPCEndToEndTests.repo

    @Test("gRPC to a TLS listener and through an https:// upstream: same answer as MLServer; wrong CA is UNAVAILABLE naming verification; oversized request is RESOURCE_EXHAUSTED; grpc-timeout gives DEADLINE_EXCEEDED; gRPC metrics; SIGHUP reloads the gRPC listener's certificate",
          .enabled(if: GRPCEndToEndTests.python != nil, "the demo's Python environment (MLServer from PyPI) is not available"))
    func tlsLimitsAndMetrics() async throws {
        let python = try #require(GRPCEndToEndTests.python)
        let models = try await GRPCEndToEndTests.makeModels(python: python, prefix: "sg-grpc-tls-models")
        let mlserver = try GRPCEndToEndTests.MLServer.start(python: python, repository: models + "/legacy")
        let certs = try await TestCertificates.make()
        let silent = try GRPCEndToEndTests.SilentPort()
        defer {
            mlserver.stop()
            certs.remove()
            try? FileManager.default.removeItem(atPath: models)
        }
        try await waitUntilListening(port: mlserver.httpPort, seconds: 90, anyAnswer: true)

        // The edge: a TLS gRPC listener (ALPN h2) in front of MLServer, no pair log. Its certificate
        // files are copies, replaced at the end to check SIGHUP reloads them.
        let liveCert = certs.path("grpc-live.pem")
        let liveKey = certs.path("grpc-live.key")
        try FileManager.default.copyItem(atPath: certs.serverCertFile, toPath: liveCert)
        try FileManager.default.copyItem(atPath: certs.serverKeyFile, toPath: liveKey)
        let edgeREST = try freePort()
        let edgeGRPC = try freePort()
        let edgeConfig = try writeConfig("""
            listen: 127.0.0.1:\(edgeREST)
            event_loops: 1
            routes:
              - name: iris
                match: ["/v2/models/iris/infer"]
                mode: legacy
                legacy: { url: "http://127.0.0.1:\(mlserver.httpPort)" }
            grpc:
              listen: 127.0.0.1:\(edgeGRPC)
              tls: { cert_file: "\(liveCert)", key_file: "\(liveKey)", reload_check_ms: 0 }
              routes:
                - route: iris
                  models: [iris]
                  legacy: { url: "http://127.0.0.1:\(mlserver.grpcPort)", timeout_ms: 5000 }
            """)
        let edge = try BinaryRunner.start(["serve", "--config", edgeConfig, "--no-pair-log"])
        defer { if edge.process.isRunning { kill(edge.process.processIdentifier, SIGKILL) } }
        try await waitUntilListening(port: edgeREST)

        // The front: plaintext gRPC listener; iris's legacy model behind the edge over https with
        // the right CA, a route whose upstream presents a certificate from a CA it does not trust,
        // and a route whose serving model never answers.
        let database = try await CLITestDatabase.fresh()
        let frontREST = try freePort()
        let frontGRPC = try freePort()
        let frontConfig = try writeConfig("""
            listen: 127.0.0.1:\(frontREST)
            event_loops: 1
            database: { url: "\(database)", flush_ms: 10 }
            routes:
              - name: iris
                match: ["/v2/models/iris/infer"]
                mode: shadow
                legacy: { url: "http://127.0.0.1:\(mlserver.httpPort)" }
                learner: { url: "http://127.0.0.1:\(mlserver.httpPort)" }
              - name: wrongca
                match: ["/v2/models/wrongca/infer"]
                mode: legacy
                legacy: { url: "http://127.0.0.1:\(mlserver.httpPort)" }
              - name: slow
                match: ["/v2/models/slow/infer"]
                mode: legacy
                legacy: { url: "http://127.0.0.1:\(silent.port)" }
            grpc:
              listen: 127.0.0.1:\(frontGRPC)
              max_message_bytes: 1024
              routes:
                - route: iris
                  models: [iris]
                  legacy: { url: "https://localhost:\(edgeGRPC)", timeout_ms: 5000, tls: { ca_file: "\(certs.caFile)" } }
                  learner: { url: "http://127.0.0.1:\(mlserver.grpcPort)", timeout_ms: 5000 }
                - route: wrongca
                  models: [wrongca]
                  legacy: { url: "https://localhost:\(edgeGRPC)", timeout_ms: 5000, tls: { ca_file: "\(certs.otherCAFile)" } }
                - route: slow
                  models: [slow]
                  legacy: { url: "http://127.0.0.1:\(silent.port)", timeout_ms: 10000 }
            """)
        let front = try BinaryRunner.start(["serve", "--config", frontConfig, "--migrations", CLITestDatabase.migrationsDirectory])
        defer { if front.process.isRunning { kill(front.process.processIdentifier, SIGKILL) } }
        try await waitUntilListening(port: frontREST)

        // 1. A TLS client (ssl_channel_credentials with the test CA) to the edge's TLS listener:
        // the same bytes and trailers as MLServer directly.
        let direct = try #require(try await GRPCEndToEndTests.client(python, ["127.0.0.1:\(mlserver.grpcPort)", "infer", "--rows", "3"]).first)
        #expect(direct["code"] as? String == "OK")
        let overTLS = try await GRPCEndToEndTests.client(python, ["localhost:\(edgeGRPC)", "infer", "--rows", "3", "--count", "2", "--tls-ca", certs.caFile])
        #expect(overTLS.count == 2)
        for answer in overTLS {
            #expect(answer["code"] as? String == "OK", "\(answer)")
            #expect(answer["response_hex"] as? String == direct["response_hex"] as? String)
            #expect(answer["trailing"] as? [[String]] == direct["trailing"] as? [[String]])
        }
        // A plaintext client on the TLS port gets no answer.
        let plainOnTLS = try #require(try await GRPCEndToEndTests.client(python, ["127.0.0.1:\(edgeGRPC)", "infer", "--timeout", "3"]).first)
        #expect(plainOnTLS["code"] as? String != "OK")

        // 2. Through the front, whose legacy model is behind the edge over https: same answer, one
        // pair per call with both predictions.
        let proxied = try await GRPCEndToEndTests.client(python, ["127.0.0.1:\(frontGRPC)", "infer", "--rows", "3", "--count", "3"])
        #expect(proxied.count == 3)
        for answer in proxied {
            #expect(answer["code"] as? String == "OK", "\(answer)")
            #expect(answer["response_hex"] as? String == direct["response_hex"] as? String)
            #expect(answer["trailing"] as? [[String]] == direct["trailing"] as? [[String]])
        }
        #expect(try await GRPCEndToEndTests.eventuallyCount(database, 3) == 3)
        let pairs = try GRPCEndToEndTests.rows(database, "SELECT legacy_outcome, learner_outcome, legacy_version FROM shadowgate.pairs")
        #expect(pairs.rows.count == 3)
        #expect(pairs.rows.allSatisfy { $0[0] == "ok" && $0[1] == "ok" && $0[2] == "legacy-1" }, "\(pairs.rows)")

        // 3. An https upstream whose certificate the configured CA did not sign: UNAVAILABLE naming
        // the upstream and certificate verification, and nothing of the TLS library's internals.
        let wrongCA = try #require(try await GRPCEndToEndTests.client(python, ["127.0.0.1:\(frontGRPC)", "infer", "--model", "wrongca"]).first)
        #expect(wrongCA["code"] as? String == "UNAVAILABLE", "\(wrongCA)")
        let details = wrongCA["details"] as? String ?? ""
        #expect(details.contains("https://localhost:\(edgeGRPC)"), "\(details)")
        #expect(details.contains("route 'wrongca'"), "\(details)")
        #expect(details.contains("certificate verification failed"), "\(details)")
        for leaked in ["NIOSSL", "BoringSSL", "error:", "OPENSSL_internal", "errno"] {
            #expect(!details.contains(leaked), "\(details)")
        }

        // 4. A request message over grpc.max_message_bytes (1024): RESOURCE_EXHAUSTED, no pair.
        let large = try #require(try await GRPCEndToEndTests.client(python, ["127.0.0.1:\(frontGRPC)", "infer", "--rows", "60"]).first)
        #expect(large["code"] as? String == "RESOURCE_EXHAUSTED", "\(large)")
        #expect((large["details"] as? String)?.contains("max_message_bytes") == true, "\(large)")
        let small = try #require(try await GRPCEndToEndTests.client(python, ["127.0.0.1:\(frontGRPC)", "infer", "--rows", "3"]).first)
        #expect(small["code"] as? String == "OK")
        #expect(try await GRPCEndToEndTests.eventuallyCount(database, 4) == 4)

        // 5. grpc-timeout 200m to a serving model that never answers (its own timeout is 10 s): the
        // gateway answers DEADLINE_EXCEEDED itself, about when the client's deadline ends. curl sends
        // the call so the status seen is the gateway's, not a client-side deadline.
        let frame = FileManager.default.temporaryDirectory.appendingPathComponent("sg-slow-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: frame) }
        // ModelInferRequest{model_name: "slow"} in one uncompressed gRPC message.
        try Data([0, 0, 0, 0, 6, 0x0a, 4] + Array("slow".utf8)).write(to: frame)
        let started = ContinuousClock.now
        let deadline = try await runCurl([
            "-i", "--http2-prior-knowledge", "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", "grpc-timeout: 200m",
            "--data-binary", "@" + frame.path, "http://127.0.0.1:\(frontGRPC)/inference.GRPCInferenceService/ModelInfer",
        ])
        let waited = ContinuousClock.now - started
        #expect(deadline.output.contains("grpc-status: 4"), "\(deadline.output)")
        #expect(deadline.output.contains("x-shadowgate-served-by: gateway"), "\(deadline.output)")
        #expect(waited >= .milliseconds(190), "\(waited)")
        // Far below the upstream's own 10 s; loose for a loaded machine.
        #expect(waited < .seconds(5), "\(waited)")

        // 6. The gRPC metrics, on the REST listener's /metrics.
        let metrics = try await runCurl(["http://127.0.0.1:\(frontREST)/metrics"]).output
        let lines = metrics.split(separator: "\n").map(String.init).filter { $0.hasPrefix("shadowgate_grpc_") }
        func value(_ name: String, _ labels: [String]) -> Double? {
            lines.first { line in line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) } }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        let ok = value("shadowgate_grpc_requests_total", [#"route="iris""#, #"method="ModelInfer""#, #"served_by="legacy""#, #"grpc_status="0""#])
        #expect(ok == 4, "\(lines)")
        #expect(value("shadowgate_grpc_requests_total", [#"route="wrongca""#, #"served_by="gateway""#, #"grpc_status="14""#]) == 1, "\(lines)")
        #expect(value("shadowgate_grpc_requests_total", [#"method="ModelInfer""#, #"served_by="gateway""#, #"grpc_status="8""#]) == 1, "\(lines)")
        #expect(value("shadowgate_grpc_requests_total", [#"route="slow""#, #"served_by="gateway""#, #"grpc_status="4""#]) == 1, "\(lines)")
        #expect(value("shadowgate_grpc_shadow_requests_total", [#"route="iris""#, #"model="learner""#, #"outcome="ok""#]) == 4, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("shadowgate_grpc_upstream_latency_seconds_count{") && $0.contains(#"route="iris""#) }, "\(lines)")

        // 7. The gRPC listener's certificate is reloaded on SIGHUP: replaced by one from the other
        // CA, new TLS clients must trust that CA.
        try Data(contentsOf: URL(fileURLWithPath: certs.otherServerCertFile)).write(to: URL(fileURLWithPath: liveCert))
        try Data(contentsOf: URL(fileURLWithPath: certs.otherServerKeyFile)).write(to: URL(fileURLWithPath: liveKey))
        kill(edge.process.processIdentifier, SIGHUP)
        var reloaded: [String: Any] = [:]
        for _ in 0..<50 {
            reloaded = try await GRPCEndToEndTests.client(python, ["localhost:\(edgeGRPC)", "infer", "--timeout", "3", "--tls-ca", certs.otherCAFile]).first ?? [:]
            if reloaded["code"] as? String == "OK" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(reloaded["code"] as? String == "OK", "\(reloaded)")
        let oldCA = try #require(try await GRPCEndToEndTests.client(python, ["localhost:\(edgeGRPC)", "infer", "--timeout", "3", "--tls-ca", certs.caFile]).first)
        #expect(oldCA["code"] as? String != "OK", "\(oldCA)")

        kill(front.process.processIdentifier, SIGTERM)
        _ = try await front.finished()
        kill(edge.process.processIdentifier, SIGTERM)
        _ = try await edge.finished()
        _ = silent
    }
}
