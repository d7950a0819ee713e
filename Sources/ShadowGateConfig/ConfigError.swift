/// A configuration that cannot be used, with the key it concerns and what is wrong with it.
///
/// `description` is the sentence shown to the user, e.g.
/// `config key 'routes[0].legacy.url': 'ftp://x' is not an http:// URL`.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The dotted path of the offending key (`routes[1].learner.timeout_ms`), or empty for the whole file.
    public var key: String
    public var problem: String
    /// 1-based line in the YAML file, when known.
    public var line: Int?

    public init(key: String, problem: String, line: Int? = nil) {
        self.key = key
        self.problem = problem
        self.line = line
    }

    public var description: String {
        let place = line.map { " (line \($0))" } ?? ""
        return key.isEmpty ? "config\(place): \(problem)" : "config key '\(key)'\(place): \(problem)"
    }
}
