import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking libpq connection to PostgreSQL.
///
/// Promises and limits:
/// - Every method blocks the calling thread on network I/O. Call them only from a dedicated
///   thread (ShadowGate's writer thread, a CLI command) — never from an event loop or a Swift
///   concurrency task on the cooperative pool.
/// - `@unchecked Sendable` so it can be handed to the thread that owns it, but it must be used
///   by **one thread at a time** (libpq forbids concurrent use of one `PGconn`). There is no
///   internal lock.
/// - Values are always sent as parameters (`PQexecParams`, text format); SQL is never built from
///   values. Only ``executeScript(_:)`` runs raw multi-statement SQL, for trusted files such as
///   migrations.
/// - Failures throw ``PGError``. After a connection problem (`error.isConnectionProblem`) the
///   connection stays unusable; drop it and open a new one.
/// - Server notices (e.g. "relation already exists, skipping") are discarded instead of being
///   printed to stderr.
public final class PGConnection: @unchecked Sendable {
    var conn: OpaquePointer?

    /// Opens a connection.
    ///
    /// - Parameters:
    ///   - connectionString: a libpq key/value string (`host=/tmp port=5432 dbname=gate`) or URL
    ///     (`postgresql://user@host/db`). Empty means libpq's defaults (`PGHOST` etc.).
    ///   - applicationName: reported in `pg_stat_activity` unless the string sets one.
    ///   - connectTimeoutSeconds: used unless the string sets `connect_timeout`.
    ///   - defaults: further libpq keywords (e.g. `keepalives_idle`) used unless the string sets them.
    /// - Throws: ``PGError`` with code `.connectionFailed` (libpq's message included), or
    ///   `.invalidConnectionString`.
    public init(
        connectionString: String, applicationName: String = "shadowgate", connectTimeoutSeconds: Int = 5,
        defaults: [String: String] = [:]
    ) throws {
        // Defaults come before `dbname`: libpq expands the first `dbname` value as a full
        // connection string, and values set there override the earlier defaults.
        let extra = defaults.sorted { $0.key < $1.key }.filter { $0.key != "dbname" }
        let keywords = ["connect_timeout", "application_name"] + extra.map(\.key) + ["dbname"]
        let values = [String(connectTimeoutSeconds), applicationName] + extra.map(\.value) + [connectionString]
        let c: OpaquePointer? = withCStringArray(keywords) { kw in
            withCStringArray(values) { vals in PQconnectdbParams(kw, vals, 1) }
        }
        guard let c else {
            throw PGError(.connectionFailed, message: "libpq could not allocate a connection")
        }
        if PQstatus(c) != CONNECTION_OK {
            let msg = String(cString: PQerrorMessage(c)).trimmingWhitespace()
            PQfinish(c)
            let code: PGError.Code = msg.contains("invalid") && msg.contains("connection") ? .invalidConnectionString : .connectionFailed
            throw PGError(code, message: msg.isEmpty ? "could not connect" : msg)
        }
        conn = c
        PQsetNoticeProcessor(c, { _, _ in }, nil)
    }

    deinit { close() }

    /// Closes the connection. Safe to call more than once; later calls on this object throw `.connectionClosed`.
    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    /// Whether the connection is open and libpq last saw it in a good state. Does no I/O, so a
    /// server that went away is only noticed by the next statement.
    public var isHealthy: Bool {
        guard let conn else { return false }
        return PQstatus(conn) == CONNECTION_OK
    }

    /// The server's backend process id (for `pg_terminate_backend` in tests and diagnostics).
    public var backendPID: Int32 { conn.map { PQbackendPID($0) } ?? 0 }

    /// Runs one statement with text parameters (`$1`, `$2`, …; `nil` is SQL NULL) and returns its rows.
    ///
    /// - Throws: ``PGError`` `.server` with SQLSTATE when the server rejects it, `.connectionClosed`
    ///   when the connection is closed or breaks.
    @discardableResult
    public func execute(_ sql: String, _ params: [String?] = []) throws -> PGResult {
        let conn = try live(sql)
        let res: OpaquePointer? = withOptionalCStringArray(params) { vals in
            PQexecParams(conn, sql, Int32(params.count), nil, vals, nil, nil, 0)
        }
        return try finish(res, sql: sql)
    }

    /// Runs trusted SQL that may hold several statements (simple query protocol, no parameters)
    /// and returns the last statement's result. For migration files, never for values.
    @discardableResult
    public func executeScript(_ sql: String) throws -> PGResult {
        let conn = try live(sql)
        return try finish(PQexec(conn, sql), sql: sql)
    }

    // MARK: - internals

    func live(_ sql: String?) throws -> OpaquePointer {
        guard let conn else { throw PGError(.connectionClosed, message: "the connection was closed", query: sql) }
        return conn
    }

    /// Checks and frees a result; throws for anything but command-ok / tuples-ok.
    func finish(_ res: OpaquePointer?, sql: String) throws -> PGResult {
        guard let res else { throw connectionError(sql: sql) }
        defer { PQclear(res) }
        let status = PQresultStatus(res)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PGResult(copying: res)
        case PGRES_COPY_IN:
            PQputCopyEnd(conn, "COPY FROM STDIN must go through copyIn")
            drainResults()
            throw PGError(.unexpectedResult, message: "the statement started a COPY FROM STDIN; use copyIn", query: sql)
        case PGRES_COPY_OUT:
            drainResults()
            throw PGError(.unexpectedResult, message: "COPY TO STDOUT is not supported", query: sql)
        default:
            throw error(from: res, sql: sql)
        }
    }

    /// Reads and frees results until libpq says the command is complete.
    func drainResults() {
        guard let conn else { return }
        while let r = PQgetResult(conn) {
            let st = PQresultStatus(r)
            PQclear(r)
            if st == PGRES_COPY_OUT || st == PGRES_COPY_IN { break }
        }
    }

    func error(from res: OpaquePointer, sql: String?) -> PGError {
        func field(_ c: Character) -> String? {
            guard let p = PQresultErrorField(res, Int32(c.asciiValue!)) else { return nil }
            return String(cString: p)
        }
        let state = field("C")
        if state == nil, let conn, PQstatus(conn) != CONNECTION_OK { return connectionError(sql: sql) }
        let msg = field("M") ?? String(cString: PQresultErrorMessage(res)).trimmingWhitespace()
        return PGError(.server, message: msg, sqlState: state, detail: field("D"), query: sql)
    }

    func connectionError(sql: String?, code: PGError.Code = .connectionClosed) -> PGError {
        let msg = conn.map { String(cString: PQerrorMessage($0)).trimmingWhitespace() } ?? ""
        return PGError(code, message: msg.isEmpty ? "the connection to the server was lost" : msg, query: sql)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// Calls `body` with a NULL-terminated C array of C strings; the strings live for the call only.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStringArray(strings.map { Optional($0) }, body)
}

func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    ptrs.append(nil)
    defer { for p in ptrs { free(p) } }
    return ptrs.withUnsafeBufferPointer { buf in
        buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) { body($0) }
    }
}
