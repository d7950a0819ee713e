import Foundation
import NIOCore
import ShadowGateProxy
import ShadowGateTesting
import Testing

/// What a Kubernetes operator expects of a draining gateway: readiness fails, liveness passes,
/// in-flight requests finish, and the drain ends once they have.
@Suite("Drain and probes")
struct DrainProbeTests {
    /// One request on a fresh connection (each probe of a kubelet is one).
    static func probe(_ port: Int, _ path: String) async throws -> TestResponse {
        let client = try await TestHTTPClient(port: port)
        defer { Task { await client.close() } }
        return try await client.send(.GET, path)
    }

    @Test("during a drain: /readyz 503, /healthz 200 on new connections (closed after the answer), the slow request finishes, then the listener closes")
    func probesAnswerDuringDrain() async throws {
        // The model holds the slow request until the probes below have run, so they run while it is
        // in flight however slowly a loaded machine gets to them (a fixed 5 s delay once ran out first).
        let release = StubGate()
        let harness = try await GatewayHarness.start(
            legacy: .held(release, then: .json(GatewayHarness.legacyBody)), legacyTimeoutMillis: 20_000)
        let port = harness.port
        // An idle keep-alive connection from before the drain must not hold the drain up.
        let idle = try await harness.client()
        #expect(try await idle.send(.GET, "/healthz").status == 200)
        let slow = Task { () throws -> TestResponse in
            let client = try await TestHTTPClient(port: port)
            defer { Task { await client.close() } }
            return try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
        }
        #expect(try await OverloadTests.eventually(within: .seconds(10)) { harness.legacy.requests.count == 1 })

        // An unstructured task: a drain that never ends must fail the test, not hang it.
        Task { await harness.server.shutdown() }
        #expect(try await OverloadTests.eventually(within: .seconds(10)) {
            (try? await Self.probe(port, "/readyz"))?.status == 503
        }, "/readyz did not turn 503 after the drain began")
        let live = try await Self.probe(port, "/healthz")
        let liveAlias = try await Self.probe(port, "/v2/health/live")
        // Both were answered while the slow request still held the drain open.
        #expect(!harness.server.isStopped)
        #expect(live.status == 200)
        #expect(live.bodyString == "{\"live\":true}\n")
        #expect(live.header("connection")?.lowercased() == "close")
        #expect(liveAlias.status == 200)
        #expect(harness.sink.all.isEmpty, "the slow request was answered before the probes: they did not run during the drain")

        release.open()
        let answer = try await slow.value
        #expect(answer.status == 200)
        #expect(answer.bodyString == GatewayHarness.legacyBody)
        #expect(try await OverloadTests.eventually(within: .seconds(20)) { harness.server.isStopped }, "the drain did not end")
        #expect(try await harness.records(count: 1).count == 1)
        // Drained: the listener is closed now.
        await #expect(throws: (any Error).self) { try await Self.probe(port, "/healthz") }
        await idle.close()
        await harness.legacy.stop()
        await harness.learner.stop()
    }

    @Test("a drain with nothing in flight ends at once and closes the listener")
    func idleDrainEnds() async throws {
        let harness = try await GatewayHarness.start()
        #expect(try await Self.probe(harness.port, "/healthz").status == 200)
        Task { await harness.server.shutdown() }
        #expect(try await OverloadTests.eventually(within: .seconds(10)) { harness.server.isStopped }, "the drain did not end")
        await #expect(throws: (any Error).self) { try await Self.probe(harness.port, "/healthz") }
        await harness.legacy.stop()
        await harness.learner.stop()
    }
}
