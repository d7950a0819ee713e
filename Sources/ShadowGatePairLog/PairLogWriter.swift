import Foundation
import LibPQ
import Logging
import ShadowGateConfig
import ShadowGatePairRecord

/// Writes pair records to `shadowgate.pairs` and feedback labels to `shadowgate.labels` in batched
/// COPYs, spooling to disk while PostgreSQL is down or too slow, and replaying the spool
/// idempotently when it is back.
///
/// Promises:
/// - ``submit(_:)`` never blocks on I/O: it appends to a bounded in-memory queue under a short
///   lock. When the queue holds `DatabaseConfig.queueCapacity` records (or after ``shutdown()``)
///   it returns `false`, counts `shadowgate_pairs_dropped_total{reason="queue_full"}` and logs
///   at most one line per 10 s. Safe to call from any thread, including event loops.
/// - Two dedicated threads (each a one-thread ``BlockingExecutor`` running one long job; not the
///   cooperative pool, not an event loop) do the work: an encoder
///   thread turns queued records into COPY text batches every `batchRows` records or
///   `flushMillis` ms, and a database thread sends them with `COPY shadowgate.pairs … FROM STDIN`.
/// - A batch is never lost to a database problem: if PostgreSQL is unreachable, a COPY fails
///   for a non-data reason, or batches pile up faster than PostgreSQL takes them (more than
///   `maxPendingBatches` waiting while the queue is half full), batches are appended to a spool
///   file in `spoolDir`. The database thread reconnects with backoff (0.1 s doubling to 5 s) and
///   replays spooled rows through a staging table with `INSERT … ON CONFLICT DO NOTHING`, so a
///   row already written (same `request_id` and `received_at`) is never written twice; replayed
///   files are deleted. Spool files left by an earlier run are replayed too.
/// - A direct COPY that hits a duplicate key is retried through the staging table. A batch
///   PostgreSQL rejects as invalid data is split until the bad rows are found; only those are
///   dropped (`reason="rejected"`, logged with the request id).
/// - When the spool would pass `spoolMaxBytes` (or cannot be written), the batch is dropped and
///   counted (`reason="spool_full"`) and logged — never silently.
/// - ``shutdown()`` stops accepting records, then writes everything queued to PostgreSQL, or to
///   the spool when PostgreSQL cannot take it, replays spooled rows for at most 5 more seconds
///   when connected, and returns when both threads have ended. A spool still holding rows at that
///   point is replayed by the next writer on the same `spoolDir`.
/// - Partition upkeep: on every (re)connect and then hourly it calls
///   `shadowgate.ensure_partitions(partitionDaysAhead)` and, when `retentionDays > 0`,
///   `shadowgate.drop_partitions_older_than(retentionDays)`; failures there are logged and retried.
/// - Labels (``submit(label:)``) share the queue, its capacity, the threads and the outage
///   handling, but are counted apart (``PairLogStatistics/labels``, `shadowgate_labels_*`) and
///   spooled in files of their own (`labels-*.spool`, each kind up to `spoolMaxBytes`). They are
///   always written through a staging table and an upsert on (request_id, row_index): the label
///   with the latest `receivedAtMicros` wins, whatever order labels reach PostgreSQL in, so a
///   spool replayed twice or after a newer label was written changes nothing.
/// - The schema must exist (run ``MigrationRunner`` first); until it does, batches are spooled.
/// - One writer per spool directory. `@unchecked Sendable`: the lifecycle (``StateMachine``, a
///   value that decides; the threads only carry out what it returns) and the counters are guarded
///   by one lock; the connection is owned by the database thread.
public final class PairLogWriter: PairRecordSink, @unchecked Sendable {
    public let connectionString: String
    public let config: DatabaseConfig
    public let partitionDaysAhead: Int
    public let maxPendingBatches: Int
    let logger: Logger
    let metrics = PairLogMetrics()
    let spool: PairSpool
    let labelSpool: PairSpool
    let copySQL = PairCOPYFormat.copySQL()

    /// Guards everything below it.
    let cond = NSCondition()
    /// The lifecycle: queue, hand-off, connection state, timers, shutdown (see ``StateMachine``).
    var machine: StateMachine
    var exitWaiters: [CheckedContinuation<Void, Never>] = []
    var stats = PairLogStatistics()

    /// Owned by the database thread.
    var conn: PGConnection?
    /// Kinds whose temporary staging table exists on `conn`.
    var stagesReady: Set<PairLogRowKind> = []

    /// The encoder's and the database's thread: one long-running job each.
    let encoderThread = BlockingExecutor(name: "shadowgate-pairlog-encoder")
    let databaseThread = BlockingExecutor(name: "shadowgate-pairlog-db")

    /// Creates a writer; call ``start()`` (or run it as a `Service`) to begin writing.
    ///
    /// - Parameters:
    ///   - connectionString: libpq connection string or URL of the database holding `shadowgate.pairs`.
    ///   - config: batch size, flush interval, queue capacity, spool directory and size, retention
    ///     (`url` and `embeddedDataDir` are not used here).
    ///   - partitionDaysAhead: daily partitions kept created ahead of today.
    ///   - maxPendingBatches: encoded batches waiting for the database before new ones are spooled.
    ///   - upkeepInterval: how often partition upkeep runs.
    ///   - rollUpInterval: how often `shadowgate.roll_up_counts()` rolls the complete minutes
    ///     into the per-minute value counts compare() reads (0006).
    /// - Throws: `.spoolFailed` when the spool directory cannot be created or read.
    public init(
        connectionString: String,
        config: DatabaseConfig = DatabaseConfig(),
        partitionDaysAhead: Int = 3,
        maxPendingBatches: Int = 8,
        upkeepInterval: Duration = .seconds(3600),
        rollUpInterval: Duration = .seconds(30),
        logger: Logger = Logger(label: "shadowgate.pairlog")
    ) throws {
        self.connectionString = connectionString
        var config = config
        config.batchRows = max(1, config.batchRows)
        config.flushMillis = max(1, config.flushMillis)
        config.queueCapacity = max(config.batchRows, config.queueCapacity)
        self.config = config
        self.partitionDaysAhead = partitionDaysAhead
        self.maxPendingBatches = max(1, maxPendingBatches)
        self.logger = logger
        self.machine = StateMachine(limits: .init(
            batchRows: config.batchRows, flushNanos: UInt64(config.flushMillis) * 1_000_000,
            queueCapacity: config.queueCapacity, maxPendingBatches: self.maxPendingBatches,
            upkeepIntervalNanos: UInt64(max(1, upkeepInterval.components.seconds)) * 1_000_000_000,
            rollUpIntervalNanos: UInt64(max(1, rollUpInterval.components.seconds)) * 1_000_000_000))
        self.spool = try PairSpool(directory: config.spoolDir, maxBytes: config.spoolMaxBytes)
        self.labelSpool = try PairSpool(directory: config.spoolDir, kind: .labels, maxBytes: config.spoolMaxBytes)
        stats.spoolBytes = spool.totalBytes + labelSpool.totalBytes
    }

    /// Starts the encoder and database threads. Idempotent.
    public func start() {
        cond.lock()
        let startThreads = machine.start()
        cond.unlock()
        if startThreads { startThreadsNow() }
    }

    private func startThreadsNow() {
        encoderThread.execute { [self] in encoderLoop() }
        databaseThread.execute { [self] in databaseLoop() }
        // Each thread ends when its loop returns.
        encoderThread.shutdown()
        databaseThread.shutdown()
    }

    /// Offers a record; `false` (counted and logged) when the queue is full or the writer stopped.
    @discardableResult
    public func submit(_ record: consuming PairRecord) -> Bool {
        cond.lock()
        let result = machine.submit(consume record, now: monotonicNanos())
        return admitted(result, .pairs)
    }

    /// Offers a label; `false` (counted and logged) when the queue is full or the writer stopped.
    /// Never blocks on I/O, like ``submit(_:)``.
    @discardableResult
    public func submit(label: LabelRecord) -> Bool {
        cond.lock()
        let result = machine.submit(label: label, now: monotonicNanos())
        return admitted(result, .labels)
    }

    /// Carries out a submission's result; call with `cond` held (it unlocks).
    private func admitted(_ result: StateMachine.SubmitResult, _ kind: PairLogRowKind) -> Bool {
        switch result {
        case .queued(let wake):
            cond.unlock()
            if wake { cond.broadcast() }
            return true
        case .dropped(let reason, let report):
            stats[kind].droppedQueueFull += 1
            cond.unlock()
            metrics.rows(kind).droppedQueueFull.increment()
            if let report {
                let why = reason == .stopped ? "the writer is shut down" : "the queue is full"
                logger.error("\(kind.rawValue) records dropped: \(why)", metadata: [
                    "dropped_since_last_report": "\(report)", "queue_capacity": "\(config.queueCapacity)",
                ])
            }
            return false
        }
    }

    /// Stops accepting records, flushes everything to PostgreSQL or the spool, and returns when
    /// the writer's threads have ended. Safe to call more than once.
    public func shutdown() async {
        beginStop()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            cond.lock()
            if machine.hasStopped {
                cond.unlock()
                c.resume()
            } else {
                exitWaiters.append(c)
                cond.unlock()
            }
        }
    }

    /// ``shutdown()`` for callers outside Swift concurrency: blocks the calling thread until done.
    public func shutdownAndWait() {
        beginStop()
        cond.lock()
        while !machine.hasStopped { cond.wait() }
        cond.unlock()
    }

    func beginStop() {
        cond.lock()
        let startThreads = machine.requestStop(now: monotonicNanos())
        cond.unlock()
        if startThreads { startThreadsNow() }
        cond.broadcast()
    }

    /// The writer's counters and current queue/spool state.
    public var statistics: PairLogStatistics {
        cond.lock()
        var s = stats
        s.queueDepth = machine.queuedCount
        s.connected = machine.isConnected
        cond.unlock()
        s.spoolBytes = spoolBytes
        return s
    }

    /// True when nothing is queued, encoding, waiting, being written, or spooled.
    public var isIdle: Bool {
        cond.lock()
        let busy = machine.isBusy
        cond.unlock()
        return !busy && spoolsEmpty
    }

    /// Records (pairs and labels) waiting in the in-memory queue.
    public var queueDepth: Int {
        cond.lock()
        defer { cond.unlock() }
        return machine.queuedCount
    }

    /// Both spools hold nothing.
    var spoolsEmpty: Bool { spool.isEmpty && labelSpool.isEmpty }

    var spoolBytes: Int { spool.totalBytes + labelSpool.totalBytes }

    func spool(for kind: PairLogRowKind) -> PairSpool { kind == .pairs ? spool : labelSpool }
}

extension PairLogWriter {
    /// How long a thread waits for a state-machine deadline: at least 0.5 ms, and the minimum
    /// for a deadline already past. (The wrapped-around UInt64 difference of a past deadline is
    /// ~585 years, which NSCondition.wait(until:) cannot convert and traps on: SIGILL.)
    static func waitSeconds(until deadline: UInt64, now: UInt64) -> Double {
        max(0.0005, deadline > now ? Double(deadline - now) / 1e9 : 0)
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
