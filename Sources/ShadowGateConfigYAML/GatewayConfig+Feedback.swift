import ShadowGateConfig
import ShadowGateRouting

extension GatewayConfig {
    static func readFeedback(_ node: ConfigNode) throws(ConfigError) -> FeedbackConfig {
        let map = try node.mapping(allowed: [
            "deliver", "batch_size", "max_wait", "body", "timeout", "retry_initial", "retry_max", "wait_for_prediction",
        ])
        var feedback = FeedbackConfig()
        if let n = map["deliver"] { feedback.deliver = try n.bool() }
        if let n = map["batch_size"] { feedback.batchSize = try n.int(in: 1...100_000) }
        if let n = map["max_wait"] { feedback.maxWait = try n.duration(atLeast: .zero) }
        if let n = map["body"] {
            let text = try n.nonEmptyString()
            guard let shape = FeedbackConfig.BodyShape(rawValue: text) else {
                throw n.fail("'\(text)' is not one of \(FeedbackConfig.BodyShape.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            feedback.body = shape
        }
        if let n = map["timeout"] { feedback.timeout = try n.duration(atLeast: .milliseconds(1)) }
        if let n = map["retry_initial"] { feedback.retryInitial = try n.duration(atLeast: .milliseconds(1)) }
        if let n = map["retry_max"] { feedback.retryMax = try n.duration(atLeast: .milliseconds(1)) }
        if let n = map["wait_for_prediction"] { feedback.waitForPrediction = try n.duration(atLeast: .milliseconds(1)) }
        if feedback.retryMax < feedback.retryInitial {
            throw ConfigError(key: node.childPath("retry_max"), problem: "must be at least retry_initial", line: node.line)
        }
        return feedback
    }
}
