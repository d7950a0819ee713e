import Foundation
import ShadowGatePairLog
import Synchronization
import ShadowGateTesting
import Testing

@Suite("shadowgate binary")
struct ServeCommandTests {
    @Test("a bad config is refused at start-up with a sentence naming the key; exit status 1")
    func badConfigRefused() async throws {
        let path = try writeConfig("""
            listen: 127.0.0.1:0
            routes:
              - name: churn
                match: ["/v2/models/churn/infer"]
                legacy: { url: "http://127.0.0.1:9", timeout_ms: soon }
                learner: { url: "http://127.0.0.1:9" }
            """)
        let output = try await BinaryRunner.run(["serve", "--config", path, "--no-pair-log"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("config key 'routes[0].legacy.timeout_ms'"))
        #expect(output.stderr.contains("expected a whole number, got 'soon'"))
    }

    @Test("a missing config file is named in the error")
    func missingConfig() async throws {
        let output = try await BinaryRunner.run(["config", "check", "--config", "/nonexistent/x.yaml"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("cannot read config file '/nonexistent/x.yaml'"))
    }

    @Test("every subcommand has --help")
    func help() async throws {
        for command in [[], ["serve"], ["migrate"], ["config", "check"]] {
            let output = try await BinaryRunner.run(command + ["--help"])
            #expect(output.status == 0)
            #expect(output.stdout.contains("USAGE"))
        }
    }

    @Test("SIGTERM under traffic: in-flight requests finish, then exit 0")
    func sigtermDrains() async throws {
        let legacy = try await UpstreamStub(.delayed(milliseconds: 300, then: .json(#"{"predictions":[1]}"#)))
        let learner = try await UpstreamStub(.json(#"{"predictions":[2]}"#))
        let (running, port) = try await startServe(legacy: legacy, learner: learner)
        // Start a slow request, then signal while it is in flight.
        async let answer = { () async throws -> TestResponse in
            let client = try await TestHTTPClient(port: port)
            defer { Task { await client.close() } }
            return try await client.send(.POST, "/v1/models/m:predict", body: #"{"instances":[1]}"#)
        }()
        // Signal once the gateway has passed the request on: then it is in flight for sure (a fixed
        // sleep raced the client's connect on a loaded machine and signalled too early).
        let inFlight = try await eventually(within: 10) { legacy.requests.count == 1 }
        #expect(inFlight != nil)
        kill(running.process.processIdentifier, SIGTERM)
        let response = try await answer
        #expect(response.status == 200)
        #expect(response.bodyString == #"{"predictions":[1]}"#)
        let output = try await running.finished()
        #expect(output.status == 0)
        #expect(output.exitedNormally)
        await legacy.stop()
        await learner.stop()
    }

    @Test("SIGTERM with a slow request in flight: /readyz 503 and /healthz 200 during the drain, the request completes, exit 0")
    func probesDuringDrain() async throws {
        // Slow enough that the probes below surely run while it is in flight, on a loaded machine too.
        let legacy = try await UpstreamStub(.delayed(milliseconds: 5000, then: .json(#"{"predictions":[1]}"#)))
        let learner = try await UpstreamStub(.json(#"{"predictions":[2]}"#))
        let (running, port) = try await startServe(legacy: legacy, learner: learner, legacyTimeoutMillis: 30000)
        let answered = Mutex(false)
        let slow = Task { () throws -> TestResponse in
            let client = try await TestHTTPClient(port: port)
            defer { Task { await client.close() } }
            let response = try await client.send(.POST, "/v1/models/m:predict", body: #"{"instances":[1]}"#)
            answered.withLock { $0 = true }
            return response
        }
        #expect(try await eventually(within: 10) { legacy.requests.count == 1 } != nil)
        kill(running.process.processIdentifier, SIGTERM)
        // A probe is one request on a fresh connection, as a kubelet sends it.
        func probe(_ path: String) async -> Int? {
            guard let client = try? await TestHTTPClient(port: port) else { return nil }
            defer { Task { await client.close() } }
            return (try? await client.send(.GET, path))?.status
        }
        let notReady = try await eventually(within: 10) { await probe("/readyz") == 503 }
        #expect(notReady != nil, "/readyz did not turn 503 after SIGTERM")
        let live = await probe("/healthz")
        // Still draining: the slow request has not been answered and the process runs.
        let slowDone = answered.withLock { $0 }
        #expect(live == 200, "/healthz answered \(live.map(String.init) ?? "nothing") during the drain")
        #expect(!slowDone, "the slow request was answered before the probes: they did not run during the drain")
        #expect(kill(running.process.processIdentifier, 0) == 0, "the gateway exited before the in-flight request was answered")
        let response = try await slow.value
        #expect(response.status == 200)
        #expect(response.bodyString == #"{"predictions":[1]}"#)
        let output = try await running.finished()
        #expect(output.status == 0)
        #expect(output.exitedNormally)
        #expect(await probe("/healthz") == nil, "the port still answers after exit")
        await legacy.stop()
        await learner.stop()
    }

    @Test("SIGTERM while a client lingers after its 413 (linger 2 minutes): the drain closes that connection and the process exits 0 long before")
    func sigtermEndsLinger() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[1]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[2]}"#))
        let (running, port) = try await startServe(
            legacy: legacy, learner: learner, limits: ["max_body_bytes: 1024", "client_linger_timeout_ms: 120000"])
        // A client whose body was refused keeps its socket open: the gateway lingers on it (answer, FIN, reading).
        let (socket, answer, end) = try await onThread { () throws -> (BlockingTestSocket, [UInt8], BlockingTestSocket.End) in
            let socket = try BlockingTestSocket(port: port, timeoutSeconds: 20)
            _ = socket.send(Array("POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n".utf8))
            let (answer, end) = socket.readToEnd()
            return (socket, answer, end)
        }
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 413"))
        #expect(end == .eof)
        kill(running.process.processIdentifier, SIGTERM)
        // Below the drain's own 30 s deadline, far below the linger: only the drain closing it ends this in time.
        let exited = try await eventually(within: 20) { !running.process.isRunning }
        if exited == nil { kill(running.process.processIdentifier, SIGKILL) }
        let output = try await running.finished()
        #expect(exited != nil, "still running 20 s after SIGTERM")
        #expect(output.status == 0)
        socket.close()
        await legacy.stop()
        await learner.stop()
    }
}

/// `shadowgate serve` (pair log off, one event loop) on a free port, one kserve-v1 route `m` on
/// `/v1/models/m:predict` in front of the two stubs; returns once it answers `/healthz`.
/// `limits` are lines of the `limits:` block.
private func startServe(
    legacy: UpstreamStub, learner: UpstreamStub, legacyTimeoutMillis: Int? = nil, limits: [String] = []
) async throws -> (RunningBinary, Int) {
    let port = try freePort()
    let limitsBlock = limits.isEmpty ? "" : "limits:\n" + limits.map { "  \($0)\n" }.joined()
    let legacyTimeout = legacyTimeoutMillis.map { ", timeout_ms: \($0)" } ?? ""
    let path = try writeConfig("""
        listen: 127.0.0.1:\(port)
        event_loops: 1
        \(limitsBlock)routes:
          - name: m
            match: ["/v1/models/m:predict"]
            protocol: kserve-v1
            legacy: { url: "\(legacy.url)"\(legacyTimeout) }
            learner: { url: "\(learner.url)" }
        """)
    let running = try BinaryRunner.start(["serve", "--config", path, "--no-pair-log"])
    try await waitUntilListening(port: port)
    return (running, port)
}

func freePort() throws -> Int { try EmbeddedPostgres.freeLoopbackPort() }

/// Waits until `port` answers `GET /healthz` with 200 (or, with `anyAnswer`, answers at all:
/// the admin listener has no health endpoint and wants a token).
func waitUntilListening(port: Int, seconds: Double = 30, anyAnswer: Bool = false) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let client = try? await TestHTTPClient(port: port) {
            let status = (try? await client.send(.GET, "/healthz"))?.status
            let ok = anyAnswer ? status != nil : status == 200
            await client.close()
            if ok { return }
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw CancellationError()
}
