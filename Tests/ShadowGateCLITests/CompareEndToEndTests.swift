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
        let legacy = try await UpstreamStub(Self.stub(wrongEvery: 5))
        let learner = try await UpstreamStub(Self.stub(wrongEvery: 10))
        let gateway = try await GatewayProcess.start(route: "churn", legacy: legacy, learner: learner)
        let port = gateway.port
        let database = gateway.database
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
        #expect(try await gateway.stopped() == 0)

        let json = try await BinaryRunner.run(["report", "--route", "churn", "--since", "1h", "--format", "json", "--database-url", database])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["pairs"] as? Int == 100)
        #expect(object["labelled_pairs"] as? Int == 50)
        #expect(object["legacy_accuracy"] as? Double == 0.8)
        #expect(object["learner_accuracy"] as? Double == 0.9)
        #expect(abs((object["accuracy_delta"] as? Double ?? 0) - 0.1) < 1e-12)
        #expect(object["learner_error_rate"] as? Double == 0)

        let table = try await BinaryRunner.run(["report", "--route", "churn", "--since", "1h", "--database-url", database])
        #expect(table.status == 0)
        let accuracyLine = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix("accuracy ") })
        #expect(accuracyLine.contains("0.8") && accuracyLine.contains("0.9 ◀"))
        // Label coverage under the table (issue 13).
        #expect(table.stdout.contains("labels      50 of 100 pairs labelled (50.0 %); label delay p50 "), "\(table.stdout)")

        let unknownRoute = try await BinaryRunner.run(["report", "--route", "churn", "--since", "not an interval", "--database-url", database])
        #expect(unknownRoute.status == 1)
        #expect(unknownRoute.stderr.contains("comparing route 'churn' over 'not an interval' failed"))
        await legacy.stop()
        await learner.stop()
    }
}
