/// An error from libpq or from the PostgreSQL server, with the context needed to act on it.
///
/// Shaped like postgres-nio's `PSQLError`: a struct around a small code that code can match on
/// (`error.code == .server`, `error.isUniqueViolation`), plus the server's SQLSTATE and message,
/// the query that failed, and where in ShadowGate it was raised. `description` is one plain
/// sentence that may reach a client or an info log (no SQL, no connection details, no server
/// message); `debugDescription` has everything, for debug logs.
public struct PGError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
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

    /// One plain sentence for people and client-facing answers: what failed and, for a server
    /// error, the SQLSTATE and its meaning. Never the statement, the connection string, the host
    /// or the server's message and detail (those can hold data and addresses); they are in
    /// ``debugDescription``.
    public var description: String {
        switch code {
        case .connectionFailed: return "could not connect to PostgreSQL" + (connectionFailureReason.map { " (\($0))" } ?? "")
        case .connectionClosed: return "the connection to PostgreSQL was lost"
        case .invalidConnectionString: return "the PostgreSQL connection string is not valid"
        case .copyFailed: return "sending COPY data to PostgreSQL failed"
        case .socket: return "waiting on the PostgreSQL connection failed"
        case .unexpectedResult: return "PostgreSQL answered with an unexpected result"
        default:
            guard let sqlState else { return "PostgreSQL refused the statement" }
            let meaning = Self.meaning(ofSQLState: sqlState).map { ", \($0)" } ?? ""
            return "PostgreSQL refused the statement (SQLSTATE \(sqlState)\(meaning))"
        }
    }

    /// Everything known, for debug logs and developers: code, SQLSTATE, the server's message and
    /// detail, the statement, and where in ShadowGate the error was raised.
    public var debugDescription: String {
        var s = "PostgreSQL \(code)"
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        s += ": \(message)"
        if let detail, !detail.isEmpty { s += " — \(detail)" }
        if let query { s += " [query: \(query)]" }
        s += " (at \(file):\(line))"
        return s
    }

    /// Why a connection failed, in libpq's words for the common cases, without the host, port,
    /// user or database names its message carries.
    var connectionFailureReason: String? {
        let known = [
            ("Connection refused", "connection refused"),
            ("password authentication failed", "password authentication failed"),
            ("no password supplied", "a password is required"),
            ("timeout expired", "timed out"),
            ("could not translate host name", "unknown host name"),
            ("No such file or directory", "no server on that socket"),
            ("does not exist", "the database or role does not exist"),
            ("too many clients", "too many connections"),
            ("the database system is starting up", "the server is starting up"),
            ("the database system is shutting down", "the server is shutting down"),
            ("SSL", "TLS negotiation failed"),
        ]
        return known.first { message.contains($0.0) }?.1
    }

    /// The SQLSTATEs ShadowGate meets, then the condition classes of the PostgreSQL manual's
    /// appendix A, in words.
    static func meaning(ofSQLState state: String) -> String? {
        let known: [String: String] = [
            "23505": "a row with this key exists already",
            "22007": "invalid date or time",
            "22P02": "invalid text for the type",
            "22023": "invalid parameter value",
            "3D000": "the database does not exist",
            "42P01": "a table is missing (are the migrations applied?)",
            "3F000": "the schema is missing (are the migrations applied?)",
            "42883": "a function is missing (are the migrations applied?)",
            "28P01": "password authentication failed",
            "53300": "too many connections",
            "57P01": "the server is shutting down",
            "40001": "a concurrent change conflicted",
            "P0002": "no such row",
        ]
        if let text = known[state] { return text }
        let classes: [String: String] = [
            "08": "connection exception", "22": "data exception", "23": "integrity constraint violation",
            "25": "invalid transaction state", "28": "invalid authorization", "3D": "invalid database name",
            "40": "transaction rollback", "42": "syntax error or access rule violation", "53": "insufficient resources",
            "54": "program limit exceeded", "55": "object not in prerequisite state", "57": "operator intervention",
            "58": "system error", "P0": "PL/pgSQL error", "XX": "internal error",
        ]
        return classes[String(state.prefix(2))]
    }
}
