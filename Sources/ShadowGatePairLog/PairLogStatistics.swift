/// Counters of one ``PairLogWriter`` since it was created (the same figures it reports as metrics).
public struct PairLogStatistics: Sendable, Hashable {
    /// Records accepted by `submit`.
    public var queued = 0
    /// Rows committed to `shadowgate.pairs` straight from the queue (duplicates not counted).
    public var written = 0
    /// Rows appended to the spool.
    public var spooled = 0
    /// Spooled rows replayed into PostgreSQL (including ones that were already there).
    public var replayed = 0
    /// Records dropped because the queue was full or the writer was stopped.
    public var droppedQueueFull = 0
    /// Rows dropped because the spool was full or could not be written.
    public var droppedSpoolFull = 0
    /// Rows PostgreSQL rejected as invalid data (e.g. JSON it cannot store), isolated and dropped.
    public var rejected = 0
    /// COPY batches committed.
    public var batches = 0
    /// Seconds the database thread spent in COPY and commit (busy time, for throughput analysis).
    public var copySeconds = 0.0
    /// Records waiting in the in-memory queue now.
    public var queueDepth = 0
    /// Bytes in the spool now.
    public var spoolBytes = 0
    /// Whether the writer holds a working connection now.
    public var connected = false

    /// The same counters for label rows (`submit(label:)`), kept apart so pair counts stay pairs.
    public var labels = PairLogLabelStatistics()

    /// Every record that was dropped for any reason.
    public var dropped: Int { droppedQueueFull + droppedSpoolFull + rejected }

    public init() {}

    /// The counters of `kind`, to update either kind's the same way.
    static func queued(_ kind: PairLogRowKind) -> WritableKeyPath<PairLogStatistics, Int> { kind == .pairs ? \.queued : \.labels.queued }
    static func spooled(_ kind: PairLogRowKind) -> WritableKeyPath<PairLogStatistics, Int> { kind == .pairs ? \.spooled : \.labels.spooled }
    static func replayed(_ kind: PairLogRowKind) -> WritableKeyPath<PairLogStatistics, Int> { kind == .pairs ? \.replayed : \.labels.replayed }
    static func droppedQueueFull(_ kind: PairLogRowKind) -> WritableKeyPath<PairLogStatistics, Int> {
        kind == .pairs ? \.droppedQueueFull : \.labels.droppedQueueFull
    }
    static func droppedSpoolFull(_ kind: PairLogRowKind) -> WritableKeyPath<PairLogStatistics, Int> {
        kind == .pairs ? \.droppedSpoolFull : \.labels.droppedSpoolFull
    }
    static func rejected(_ kind: PairLogRowKind) -> WritableKeyPath<PairLogStatistics, Int> { kind == .pairs ? \.rejected : \.labels.rejected }
}

/// Counters of the label rows one ``PairLogWriter`` was given.
public struct PairLogLabelStatistics: Sendable, Hashable {
    /// Labels accepted by `submit(label:)`.
    public var queued = 0
    /// Labels inserted into `shadowgate.labels` or replacing an older label there, straight from the queue.
    public var written = 0
    /// Labels appended to the spool.
    public var spooled = 0
    /// Spooled labels replayed into PostgreSQL (including ones a newer label had already superseded).
    public var replayed = 0
    /// Labels dropped because the queue was full or the writer was stopped.
    public var droppedQueueFull = 0
    /// Labels dropped because the spool was full or could not be written.
    public var droppedSpoolFull = 0
    /// Labels PostgreSQL rejected as invalid data, isolated and dropped.
    public var rejected = 0

    /// Every label that was dropped for any reason.
    public var dropped: Int { droppedQueueFull + droppedSpoolFull + rejected }

    public init() {}
}
