/// Counters of one ``PairLogWriter`` since it was created (the same figures it reports as metrics).
public struct PairLogStatistics: Sendable, Hashable {
    /// Pair records (`submit(_:)`).
    public var pairs = PairLogRowStatistics()
    /// Labels (`submit(label:)`), counted apart so pair counts stay pairs.
    public var labels = PairLogRowStatistics()
    /// COPY batches of pairs committed.
    public var batches = 0
    /// Seconds the database thread spent in COPY and commit (busy time, for throughput analysis).
    public var copySeconds = 0.0
    /// Records (pairs and labels) waiting in the in-memory queue now.
    public var queueDepth = 0
    /// Bytes in the spool (pairs and labels) now.
    public var spoolBytes = 0
    /// Whether the writer holds a working connection now.
    public var connected = false

    public init() {}

    /// The counters of one kind of row.
    subscript(kind: PairLogRowKind) -> PairLogRowStatistics {
        get { kind == .pairs ? pairs : labels }
        set { if kind == .pairs { pairs = newValue } else { labels = newValue } }
    }
}

/// What a ``PairLogWriter`` did with the rows of one kind (pairs or labels).
public struct PairLogRowStatistics: Sendable, Hashable {
    /// Rows accepted by `submit`.
    public var queued = 0
    /// Rows committed straight from the queue: pairs inserted (duplicates not counted), labels
    /// inserted or replacing an older label.
    public var written = 0
    /// Rows appended to the spool.
    public var spooled = 0
    /// Spooled rows replayed into PostgreSQL (including ones that were already there or superseded).
    public var replayed = 0
    /// Rows dropped because the queue was full or the writer was stopped.
    public var droppedQueueFull = 0
    /// Rows dropped because the spool was full or could not be written.
    public var droppedSpoolFull = 0
    /// Rows PostgreSQL rejected as invalid data (e.g. JSON it cannot store), isolated and dropped.
    public var rejected = 0

    /// Every row that was dropped for any reason.
    public var dropped: Int { droppedQueueFull + droppedSpoolFull + rejected }

    public init() {}
}
