/// How the gateway writes its log lines (`log_format` in the config).
public enum LogFormat: String, Sendable, Hashable, CaseIterable {
    /// swift-log's human-readable lines (the default).
    case text
    /// One JSON object per line: `ts`, `level`, `label`, `message` and the metadata as strings.
    case json
}
