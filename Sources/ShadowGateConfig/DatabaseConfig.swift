/// Where and how pair records are written to PostgreSQL.
public struct DatabaseConfig: Sendable, Hashable {
    /// A libpq connection string or URL; `nil` starts the embedded private cluster.
    public var url: String?
    /// A direct session for LISTEN/NOTIFY and the controller's advisory lock; `nil` uses `url`.
    /// `url` may go through a transaction-mode pooler, this one must not.
    public var controlURL: String?
    /// Rows per COPY batch.
    public var batchRows: Int = 5000
    /// Longest a record waits in the queue before a partial batch is flushed.
    public var flushMillis: Int = 50
    /// Records held in memory before new ones are dropped (and counted).
    public var queueCapacity: Int = 100_000
    /// Where batches go while PostgreSQL is unreachable.
    public var spoolDir: String = ".shadowgate/spool"
    /// Most bytes kept in the spool; beyond it pairs are dropped and counted.
    public var spoolMaxBytes: Int = 1 << 30
    /// Day partitions older than this are dropped.
    public var retentionDays: Int = 30
    /// Data directory of the embedded cluster (used when `url` is `nil`).
    public var embeddedDataDir: String = ".shadowgate/postgres"

    public init() {}
}
