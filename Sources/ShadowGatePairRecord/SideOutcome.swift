/// What became of one model's side of a pair. Stored as its raw value in the pair log.
public enum SideOutcome: String, Sendable, Hashable, CaseIterable, Codable {
    /// A 2xx response whose predictions were read.
    case ok
    /// A 2xx response whose body the protocol adapter could not read (logged as unparsed).
    case unparsed
    /// The upstream answered with a non-2xx status.
    case httpError = "http_error"
    /// No complete response within the upstream's timeout.
    case timeout
    /// The connection could not be made or broke before a response.
    case unreachable
    /// The model was not called; `PairRecord.shadowSkip` says why.
    case skipped

    /// Whether this side counts as an error in comparisons (timeouts are counted apart).
    public var isError: Bool { self == .httpError || self == .unreachable || self == .unparsed }
}
