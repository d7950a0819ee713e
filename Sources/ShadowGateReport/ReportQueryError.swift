import LibPQ

/// Why a report could not be read, as one sentence naming the route and window (no SQL or server
/// detail: those are in ``debugDescription``); code can match on ``code``.
public struct ReportQueryError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public struct Code: Sendable, Hashable {
        fileprivate enum Base: Sendable, Hashable { case badWindow, badBucket, tooManyBuckets, queryFailed }
        fileprivate var base: Base
        /// `--since` is not a positive PostgreSQL interval.
        public static let badWindow = Code(base: .badWindow)
        /// `--bucket` is not a positive PostgreSQL interval.
        public static let badBucket = Code(base: .badBucket)
        /// `--bucket` cuts the window into more buckets than a chart can show.
        public static let tooManyBuckets = Code(base: .tooManyBuckets)
        /// A query failed (connection lost, schema not migrated, …).
        public static let queryFailed = Code(base: .queryFailed)
    }

    public var code: Code
    public var route: String
    public var since: String
    /// What went wrong, without the route and window.
    public var detail: String
    /// The database's error, when there was one.
    public var underlying: PGError?

    public init(_ code: Code, route: String, since: String, detail: String, underlying: PGError? = nil) {
        self.code = code
        self.route = route
        self.since = since
        self.detail = detail
        self.underlying = underlying
    }

    public var description: String {
        var s = "reporting on route '\(route)' over '\(since)': \(detail)"
        if let underlying { s += " (\(underlying))" }
        return s
    }

    /// The sentence with the database error's full detail (server message, statement), for debug logs.
    public var debugDescription: String {
        underlying.map { "\(description) [\($0.debugDescription)]" } ?? description
    }
}
