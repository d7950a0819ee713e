import ShadowGateConfig

import Testing

@Suite struct FeedbackConfigTests {
    static let routes = """
        routes:
          - name: m
            match: ["/p"]
            legacy: { url: "http://127.0.0.1:1" }
            learner: { url: "http://127.0.0.1:2" }
        """

    @Test func defaultsWithoutTheSection() throws {
        let config = try GatewayConfig.parse(yaml: "listen: 127.0.0.1:8080\n" + Self.routes)
        #expect(config.feedback == FeedbackConfig())
        #expect(config.feedback.batchSize == 500 && config.feedback.body == .items && config.feedback.deliver)
    }

    @Test func everyKey() throws {
        let config = try GatewayConfig.parse(yaml: """
            listen: 127.0.0.1:8080
            feedback:
              deliver: false
              batch_size: 1
              max_wait: 50ms
              body: open-inference
              timeout: 2s
              retry_initial: 10ms
              retry_max: 1s
              wait_for_prediction: 10m
            """ + "\n" + Self.routes)
        let f = config.feedback
        #expect(!f.deliver && f.batchSize == 1 && f.maxWait == .milliseconds(50) && f.body == .openInference)
        #expect(f.timeout == .seconds(2) && f.retryInitial == .milliseconds(10) && f.retryMax == .seconds(1))
        #expect(f.waitForPrediction == .seconds(600))
    }

    @Test(arguments: [
        ("batch_size: 0", "feedback.batch_size"),
        ("body: protobuf", "feedback.body"),
        ("retry_initial: 2s\n  retry_max: 1s", "feedback.retry_max"),
        ("wait: 1s", "feedback.wait"),
    ])
    func badValuesNameTheKey(line: String, key: String) {
        do throws(ConfigError) {
            _ = try GatewayConfig.parse(yaml: "listen: 127.0.0.1:8080\nfeedback:\n  \(line)\n" + Self.routes)
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.key == key, "\(error)")
        }
    }
}
