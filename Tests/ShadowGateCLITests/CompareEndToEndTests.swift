import Foundation
import ShadowGateTesting
import Testing

@Suite("Comparison end to end")
struct CompareEndToEndTests {
    /// Stubs with known error rates: request i has true class i % 2; the legacy model is wrong
    /// when i % 5 == 0 (80 % right), the learner when i % 10 == 0 (90 % right).
    static func stub(wrongEvery: Int) -> UpstreamStub.Behavior {
        .dynamic { request in
            let digits = request.bodyString.filter(\.isNumber)
            let i = Int(digits) ?? 0
            let truth = i % 2
            let predicted = i % wrongEvery == 0 ? 1 - truth : truth
            return (200, #"{"predictions":[\#(predicted == 1 ? 0.9 : 0.1)]}"#)
        }
    }

    @Test("requests, then feedback for half of them: compare() and `shadowgate report` give both models' true accuracies")
    func trueAccuracies() async throws {
        let database = try CLITestDatabase.fresh()
        let legacy = try await UpstreamStub(Self.stub(wrongEvery: 5))
        let learner = try await UpstreamStub(Self.stub(wrongEvery: 10))
        let port = try freePort()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sg-cmp-\(UUID().uuidString)").path
        let config = try writeConfig("""
            listen: 127.0.0.1:\(port)
            event_loops: 1
            database:
              url: "\(database)"
              flush_ms: 10
              spool_dir: \(scratch)/spool
            routes:
              - name: churn
                match: ["/v1/models/churn:predict"]
                protocol: kserve-v1
                legacy: { url: "\(legacy.url)" }
                learner: { url: "\(learner.url)" }
            """)
        let running = try BinaryRunner.start(["serve", "--config", config, "--migrations", CLITestDatabase.migrationsDirectory])
        try await waitUntilListening(port: port)
        let client = try await TestHTTPClient(port: port)
        for i in 0..<100 {
            let response = try await client.send(.POST, "/v1/models/churn:predict", headers: [("x-request-id", "q\(i)")], body: #"{"instances":[[\#(i)]]}"#)
            #expect(response.status == 200)
        }
        let labels = (0..<50).map { #"{"request_id":"q\#($0)","label":\#($0 % 2)}"# }.joined(separator: ",")
        let feedback = try await client.send(.POST, "/v1/feedback", body: "[\(labels)]")
        #expect(feedback.status == 200)
        #expect(feedback.bodyString.contains(#""stored":50"#))
        await client.close()
        kill(running.process.processIdentifier, SIGTERM)
        #expect(running.finish().status == 0)

        let json = try BinaryRunner.run(["report", "--route", "churn", "--since", "1h", "--format", "json", "--database-url", database])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["pairs"] as? Int == 100)
        #expect(object["labelled_pairs"] as? Int == 50)
        #expect(object["legacy_accuracy"] as? Double == 0.8)
        #expect(object["learner_accuracy"] as? Double == 0.9)
        #expect(abs((object["accuracy_delta"] as? Double ?? 0) - 0.1) < 1e-12)
        #expect(object["learner_error_rate"] as? Double == 0)

        let table = try BinaryRunner.run(["report", "--route", "churn", "--since", "1h", "--database-url", database])
        #expect(table.status == 0)
        let accuracyLine = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix("accuracy ") })
        #expect(accuracyLine.contains("0.8") && accuracyLine.contains("0.9 ◀"))

        let unknownRoute = try BinaryRunner.run(["report", "--route", "churn", "--since", "not an interval", "--database-url", database])
        #expect(unknownRoute.status == 1)
        #expect(unknownRoute.stderr.contains("comparing route 'churn' over 'not an interval' failed"))
        await legacy.stop()
        await learner.stop()
    }
}
