import ShadowGateConfig

extension LogFormat {
    static func read(_ node: ConfigNode) throws(ConfigError) -> LogFormat {
        let text = try node.string()
        guard let format = LogFormat(rawValue: text) else {
            throw node.fail("expected text or json, got '\(text)'")
        }
        return format
    }
}
