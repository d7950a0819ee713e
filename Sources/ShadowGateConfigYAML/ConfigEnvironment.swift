import ShadowGateConfig
import Yams

/// Configuration keys set from the environment (for containers), applied over the YAML file.
///
/// Naming: `SHADOWGATE_` + the key path in upper case, one `__` (two underscores) between levels:
/// `SHADOWGATE_LOG_FORMAT=json`, `SHADOWGATE_ADMIN__LISTEN=0.0.0.0:8081`,
/// `SHADOWGATE_DATABASE__BATCH_ROWS=10000`, `SHADOWGATE_DATABASE__CONTROL_URL=postgresql://…`.
/// A list item is named by its position or, for routes, by its name:
/// `SHADOWGATE_ROUTES__0__MODE=canary`, `SHADOWGATE_ROUTES__CHURN__LEGACY__URL=http://legacy:8080`.
/// Values are read as YAML, so `SHADOWGATE_ROUTES__CHURN__PROMOTION__STEPS='[1, 10, 100]'` works.
///
/// Promises: a variable wins over the file; a variable with a single-level name is read only for
/// the top-level scalars (``topLevelKeys``), so `SHADOWGATE_DATABASE_URL`, `SHADOWGATE_ADMIN_TOKEN`
/// and other non-key variables are never mistaken for keys. A variable naming an unknown key fails
/// like an unknown key in the file, with the variable's name in the sentence.
public struct ConfigEnvironment: Sendable {
    public static let prefix = "SHADOWGATE_"
    public static let separator = "__"
    /// Keys of the top level that a one-level variable (`SHADOWGATE_LISTEN`) may set.
    public static let topLevelKeys: Set<String> = ["listen", "event_loops", "log_format"]

    /// (key path, variable name, value), in a stable order (by variable name).
    public let overrides: [(path: [String], variable: String, value: String)]

    public init(_ environment: [String: String]) {
        var found: [(path: [String], variable: String, value: String)] = []
        for (name, value) in environment where name.hasPrefix(Self.prefix) {
            let rest = String(name.dropFirst(Self.prefix.count))
            let path = rest.components(separatedBy: Self.separator).map { $0.lowercased() }
            if path.count == 1, !Self.topLevelKeys.contains(path[0]) { continue }
            guard !path.contains(where: \.isEmpty) else { continue }
            found.append((path, name, value))
        }
        overrides = found.sorted { $0.variable < $1.variable }
    }

    /// The YAML tree with every override applied.
    func apply(to root: Node) throws(ConfigError) -> Node {
        var root = root
        for override in overrides {
            let value: Node
            do {
                value = try Yams.compose(yaml: override.value) ?? Node("", Tag(.str))
            } catch {
                throw ConfigError(key: override.path.joined(separator: "."),
                                  problem: "\(override.variable) is not a valid YAML value: \(error)")
            }
            root = try set(value, at: override.path[...], in: root, override: override)
        }
        return root
    }

    private func set(_ value: Node, at path: ArraySlice<String>, in node: Node,
                     override: (path: [String], variable: String, value: String)) throws(ConfigError) -> Node {
        guard let head = path.first else { return value }
        let rest = path.dropFirst()
        let here = override.path[..<(override.path.count - rest.count)].joined(separator: ".")
        switch node {
        case .mapping(var mapping):
            let child = mapping[head] ?? .mapping(Node.Mapping([]))
            mapping[head] = try set(value, at: rest, in: child, override: override)
            return .mapping(mapping)
        case .sequence(var sequence):
            let items = Array(sequence)
            let index = Int(head) ?? items.firstIndex { $0.mapping?["name"]?.string?.lowercased() == head }
            guard let index, items.indices.contains(index) else {
                throw ConfigError(key: here, problem: "\(override.variable) names an item the list does not have (\(items.count) item(s); use a position from 0 or a route name)")
            }
            sequence[index] = try set(value, at: rest, in: items[index], override: override)
            return .sequence(sequence)
        case .scalar where node.string?.isEmpty ?? false:
            return try set(value, at: path, in: .mapping(Node.Mapping([])), override: override)
        default:
            throw ConfigError(key: here, problem: "\(override.variable) sets a key inside a value that is not a mapping or list")
        }
    }

    /// Adds the variable's name to an error about a key it set.
    func explain(_ error: ConfigError) -> ConfigError {
        guard let override = overrides.last(where: { error.key.hasPrefix($0.path.joined(separator: ".")) }) else { return error }
        return ConfigError(key: error.key, problem: "\(error.problem) (set by the environment variable \(override.variable))", line: nil)
    }
}
