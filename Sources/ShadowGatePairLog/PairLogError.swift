/// An error of the pair log's own machinery (migrations, embedded cluster, writer setup).
///
/// A struct around a small code to match on, with the context a person needs; `description` is
/// one clear sentence (with the underlying error's own plain sentence). Database errors themselves
/// stay `LibPQ.PGError` and may be the `underlying` error here; ``debugDescription`` shows its detail.
public struct PairLogError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case migrationsNotFound, invalidMigration, migrationFailed
            case postgresNotInstalled, embeddedFailed, writerStopped, spoolFailed
        }
        let base: Base
        /// The migrations directory does not exist or cannot be read.
        public static let migrationsNotFound = Code(base: .migrationsNotFound)
        /// A file in the migrations directory is misnamed or two files share a version.
        public static let invalidMigration = Code(base: .invalidMigration)
        /// A migration's SQL failed; it was rolled back and later ones were not applied.
        public static let migrationFailed = Code(base: .migrationFailed)
        /// No PostgreSQL server binaries (`initdb`, `pg_ctl`) were found.
        public static let postgresNotInstalled = Code(base: .postgresNotInstalled)
        /// The embedded cluster could not be initialised, started or stopped.
        public static let embeddedFailed = Code(base: .embeddedFailed)
        /// The writer was used after `shutdown()`.
        public static let writerStopped = Code(base: .writerStopped)
        /// The spool directory or a spool file could not be created, written or read.
        public static let spoolFailed = Code(base: .spoolFailed)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message): \(underlying)" }
        return message
    }

    public var debugDescription: String {
        if let underlying { return "\(message): \(String(reflecting: underlying))" }
        return message
    }
}
