import Foundation
import ShadowGateTesting
import Testing

/// A short run of the HTTP-level fuzz campaign (`Fuzz/http_campaign.py`, the full one is
/// `Fuzz/http-campaign.sh`) against the `shadowgate` binary, real PostgreSQL and two model stubs.
@Suite("HTTP fuzz campaign (short)")
struct HTTPFuzzCampaignTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("2,000 seeded malformed, truncated, oversized, pipelined and garbage inputs: JSON answers or closes, no internal text, alive, pairs equal served inference requests")
    func shortCampaign() async throws {
        let legacy = try await UpstreamStub(.json(#"{"model_version":"v1","predictions":[0.25]}"#))
        let learner = try await UpstreamStub(.json(#"{"predictions":[0.75]}"#))
        // The campaign's limits: small bodies and 1 s client timeouts, so slow and truncated inputs end quickly.
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner, flushMillis: 20, topExtra: """
            limits:
              max_body_bytes: 65536
              client_header_timeout_ms: 1000
              client_body_timeout_ms: 1000
              client_idle_timeout_ms: 1000
            """)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sg-http-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let summaryPath = scratch.appendingPathComponent("summary.json").path
        let failuresPath = scratch.appendingPathComponent("failures.jsonl").path

        let driver = Process()
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        driver.arguments = [
            "python3", Self.repository.appendingPathComponent("Fuzz/http_campaign.py").path,
            "--port", String(gateway.port), "--count", "2000", "--seed", "20261129", "--concurrency", "32",
            "--summary", summaryPath, "--failures", failuresPath,
        ]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        while driver.isRunning { try await Task.sleep(for: .milliseconds(100)) }

        let failures = (try? String(contentsOfFile: failuresPath, encoding: .utf8)) ?? "(no failures file)"
        #expect(driver.terminationStatus == 0, "campaign failures: \(failures.prefix(3000))")
        let summaryData = try Data(contentsOf: URL(fileURLWithPath: summaryPath))
        let summary = try #require(try JSONSerialization.jsonObject(with: summaryData) as? [String: Any])
        #expect(summary["inputs"] as? Int == 2000)
        #expect(summary["failures"] as? Int == 0)
        #expect(summary["alive_after"] as? Bool == true)
        let served = try #require(summary["metrics_served_inference"] as? Int)
        let seen = try #require(summary["served_inference"] as? Int)
        #expect(served > 100)
        // The client sees every answer, except ones a TCP reset discarded: the gateway closed after a
        // refusal while the client was still sending (the answers were written; see README, Fuzzing).
        let resets = try #require(summary["reset_inputs"] as? [Int])
        #expect(seen == served || (seen < served && served - seen <= 8 * resets.count))
        // The campaign really sent bad input, and the gateway refused it.
        let statuses = try #require(summary["responses_by_status"] as? [String: Int])
        #expect((statuses["400"] ?? 0) > 100)
        #expect((statuses["408"] ?? 0) > 0)
        #expect((statuses["413"] ?? 0) > 0)

        // The process is alive and serves; every served inference request is one row, once the writer flushed.
        #expect(kill(gateway.pid, 0) == 0)
        let client = try await TestHTTPClient(port: gateway.port)
        let probe = try await client.send(.POST, "/v1/models/m:predict", body: #"{"instances":[[1]]}"#)
        #expect(probe.status == 200)
        await client.close()
        let expected = served + 1
        func pairRows() async throws -> Int {
            let cell: String? = try await query(gateway.database, "SELECT count(*) FROM shadowgate.pairs").first?.first ?? nil
            return cell.flatMap { Int($0) } ?? -1
        }
        _ = try await eventually(within: 30) { try await pairRows() >= expected }
        try await Task.sleep(for: .milliseconds(200))   // a row beyond the expected count would show now
        #expect(try await pairRows() == expected)

        #expect(try await gateway.stopped() == 0)
        await legacy.stop()
        await learner.stop()
        try? FileManager.default.removeItem(at: scratch)
    }
}
