/// An error from libpq or from the PostgreSQL server, with the context needed to act on it.
///
/// Shaped like postgres-nio's `PSQLError`: a struct around a small code that code can match on
/// (`error.code == .server`, `error.isUniqueViolation`), plus the server's SQLSTATE and message,
/// the query that failed, and where in ShadowGate it was raised. `description` is one clear
/// sentence for a human.
public struct PGError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Match on these; the set may grow.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case connectionFailed = "connection failed"
            case connectionClosed = "connection closed"
            case invalidConnectionString = "invalid connection string"
            case server = "server error"
            case copyFailed = "COPY failed"
            case socket = "socket error"
            case unexpectedResult = "unexpected result"
        }
        let base: Base
        /// The connection could not be established.
        public static let connectionFailed = Code(base: .connectionFailed)
        /// The connection was used after `close()`, or broke while in use.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// libpq could not parse the connection string or URL.
        public static let invalidConnectionString = Code(base: .invalidConnectionString)
        /// The server rejected a statement; `sqlState` says why.
        public static let server = Code(base: .server)
        /// Sending COPY data failed on the client side (the connection usually broke).
        public static let copyFailed = Code(base: .copyFailed)
        /// `poll()` on the connection's socket failed.
        public static let socket = Code(base: .socket)
        /// The server answered with a result of a kind the caller did not expect.
        public static let unexpectedResult = Code(base: .unexpectedResult)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE the server reported (e.g. `23505`), when there is one.
    public var sqlState: String?
    /// libpq's or the server's primary message, trimmed.
    public var message: String
    /// The server's DETAIL field, if any.
    public var detail: String?
    /// The statement that failed (shortened when very long), if any.
    public var query: String?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, message: String, sqlState: String? = nil, detail: String? = nil, query: String? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.query = query.map { $0.count > 200 ? String($0.prefix(200)) + "…" : $0 }
        self.file = file
        self.line = line
    }

    /// SQLSTATE 23505: a row with the same unique key already exists.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// SQLSTATE class 22 (data exception) or 23 other than 23505 (integrity): the data itself is
    /// bad, so retrying the same rows can never succeed.
    public var isDataError: Bool {
        guard let s = sqlState else { return false }
        return s.hasPrefix("22") || (s.hasPrefix("23") && s != "23505")
    }
    /// The connection is unusable (it broke, was closed, or never opened), or the server said it is
    /// going away (SQLSTATE class 08 or 57P0x).
    public var isConnectionProblem: Bool {
        switch code {
        case .connectionFailed, .connectionClosed, .copyFailed, .socket: return true
        default:
            guard let s = sqlState else { return code != .server && code != .unexpectedResult }
            return s.hasPrefix("08") || s.hasPrefix("57P0")
        }
    }

    public var description: String {
        var s = "PostgreSQL \(code)"
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        s += ": \(message)"
        if let detail, !detail.isEmpty { s += " — \(detail)" }
        if let query { s += " [query: \(query)]" }
        return s
    }
}
