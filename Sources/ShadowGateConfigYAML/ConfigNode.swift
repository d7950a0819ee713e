import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting
import Yams

/// A YAML node together with the key path that reached it, so every problem names its key.
struct ConfigNode {
    let node: Node
    let path: String

    var line: Int? { node.mark.map { $0.line } }

    func fail(_ problem: String) -> ConfigError {
        ConfigError(key: path, problem: problem, line: line)
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The mapping's entries, refusing keys outside `allowed` (typos must not pass silently).
    func mapping(allowed: Set<String>) throws(ConfigError) -> [String: ConfigNode] {
        guard case .mapping(let mapping) = node else { throw fail("expected a mapping of keys") }
        var out: [String: ConfigNode] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw fail("keys must be strings") }
            guard allowed.contains(key) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw ConfigError(key: childPath(key), problem: "unknown key (known keys here: \(known))", line: keyNode.mark?.line)
            }
            out[key] = ConfigNode(node: value, path: childPath(key))
        }
        return out
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw fail("expected a list") }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]") }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw fail("expected a string") }
        return scalar.string
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let value = try string()
        guard !value.trimmingWhitespace.isEmpty else { throw fail("must not be empty") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar = node, let value = node.int else { throw fail("expected a whole number, got '\(rawText)'") }
        guard range.contains(value) else { throw fail("\(value) is out of range \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    func double(in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard case .scalar = node, let value = node.float, value.isFinite else { throw fail("expected a number, got '\(rawText)'") }
        guard range.contains(value) else { throw fail("\(value) is out of range \(range.lowerBound.formattedShort)…\(range.upperBound.formattedShort)") }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw fail("expected true or false, got '\(rawText)'") }
        return value
    }

    /// `500ms`, `30s`, `10m`, `1h` or a number of seconds.
    func duration(atLeast minimum: Duration) throws(ConfigError) -> Duration {
        guard case .scalar = node, let value = Duration(parsingConfig: rawText) else {
            throw fail("expected a duration such as 500ms, 30s, 10m or 1h, got '\(rawText)'")
        }
        guard value >= minimum else { throw fail("must be at least \(minimum.configText)") }
        return value
    }

    func hostPort() throws(ConfigError) -> HostPort {
        let text = try string()
        guard let value = HostPort(parsing: text) else { throw fail("'\(text)' is not host:port") }
        return value
    }

    private var rawText: String {
        if case .scalar(let scalar) = node { return scalar.string }
        return "a \(node.mapping != nil ? "mapping" : "list")"
    }
}
