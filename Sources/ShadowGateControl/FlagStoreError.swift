import LibPQ

/// Why a flag read or change failed, as one sentence for a person (the admin API sends it to its
/// clients, so it never holds SQL or connection details; ``debugDescription`` adds the database's
/// own error for debug logs).
public struct FlagStoreError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No row in `shadowgate.flags` for the route (no gateway with it has started on this database).
        case unknownRoute
        /// A mode or percentage outside what a route accepts.
        case invalidValue
        /// The flags changed between reading and writing (optimistic check); read again and decide again.
        case conflict
        /// The database could not be reached or failed.
        case database
    }

    public var kind: Kind
    public var message: String
    /// The database's error behind a ``Kind/database`` failure, when there was one.
    public var underlying: PGError?

    public init(_ kind: Kind, _ message: String, underlying: PGError? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }

    public var debugDescription: String {
        underlying.map { "\(message) [\($0.debugDescription)]" } ?? message
    }

    /// Maps `set_flags()`'s SQLSTATEs to kinds; anything else is a database failure.
    init(_ error: PGError, route: String) {
        switch error.sqlState {
        case "P0002": self.init(.unknownRoute, "route '\(route)' has no flags: no gateway with this route has started on this database")
        case "22023": self.init(.invalidValue, error.message)
        case "40001": self.init(.conflict, error.message)
        default: self.init(.database, "the flags of route '\(route)' could not be read or changed: \(error)", underlying: error)
        }
    }
}
