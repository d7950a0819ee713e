import LibPQ
import ShadowGateConfig
import ShadowGatePairRecord

extension PairLogWriter {
    /// The writer's lifecycle as a value: the queue, the encoder, the hand-off to the database
    /// thread, the connection's ups and downs, spool replay, the upkeep and roll-up timers, and
    /// shutdown. Each event (a record submitted, an encoder or database thread asking what next, a
    /// connection made or lost, a stop requested) changes the state and returns what to do; the
    /// ``PairLogWriter`` holds it under its lock and its two threads only carry the actions out
    /// (encode, COPY, spool, replay, sleep). Time comes in as monotonic nanoseconds, so every
    /// transition is testable without threads, clocks or a database.
    ///
    /// What it does not hold: the spool files (their emptiness comes in with ``databaseStep(now:spoolsEmpty:)``),
    /// the connection itself, and the counters of ``PairLogStatistics``.
    struct StateMachine {
        /// Sizes and intervals, fixed for the writer's life.
        struct Limits {
            var batchRows: Int
            var flushNanos: UInt64
            var queueCapacity: Int
            var maxPendingBatches: Int
            var upkeepIntervalNanos: UInt64
            var rollUpIntervalNanos: UInt64
            /// Upkeep or roll-up that failed for a reason other than the connection runs again after this.
            var retryFailedMaintenanceNanos: UInt64 = 60_000_000_000
            /// How long the database thread may go on replaying the spool once shutdown began.
            var shutdownReplayNanos: UInt64 = 5_000_000_000
            /// At most one log line per this interval for dropped records.
            var dropReportNanos: UInt64 = 10_000_000_000
            /// The database thread re-checks the spool at least this often while idle.
            var idlePollNanos: UInt64 = 1_000_000_000
        }

        enum Lifecycle: Equatable {
            /// Threads not started; records are accepted and wait in the queue.
            case created
            case running
            /// No more records accepted; the spool may be replayed until `replayUntil`.
            case stopping(replayUntil: UInt64)
            /// The database thread has ended (everything is written or spooled).
            case stopped
        }

        enum Database: Equatable {
            /// No attempt has failed yet: batches are handed off and wait for the first connection.
            case firstConnect
            case up
            /// An attempt or a write failed: batches go to the spool; next attempt not before `retryAt`
            /// (at once when stopping: one last attempt).
            case down(retryAt: UInt64)
            /// No connection and no more attempts (the last one failed during shutdown, or the
            /// database thread ended).
            case abandoned
        }

        enum Encoder: Equatable {
            case waiting
            /// Encoding the records just taken; `finishing` when they were taken because of shutdown.
            case encoding(finishing: Bool, rows: Int)
            /// Ended: shutdown began and the queue is empty.
            case done
        }

        /// What the database thread is doing outside the lock.
        enum Work: Equatable {
            case none, writing, replaying
        }

        enum DropReason: Equatable {
            case stopped, queueFull
        }

        enum SubmitResult: Equatable {
            /// Queued; wake the encoder when its flush deadline starts (first record), a batch is
            /// full, or the queue is half full (spool pressure); otherwise it sleeps to its deadline.
            case queued(wakeEncoder: Bool)
            /// Refused; `report` is the number of drops to log now (nil: logged recently).
            case dropped(DropReason, report: Int?)
        }

        enum EncoderAction: Equatable {
            /// The queue was swapped into the caller's arrays: encode and offer them, then ``encoded()``.
            case encode(finishing: Bool)
            /// Nothing due: sleep until the deadline (nil: until woken).
            case sleep(until: UInt64?)
        }

        enum OfferResult: Equatable {
            /// The batch waits in the hand-off for the database thread.
            case handedOff
            /// The database thread is behind: wait for it to take a batch, then offer again.
            case wait
            /// PostgreSQL is down or too slow: spool the batch.
            case spool
        }

        enum DatabaseAction: Equatable {
            case connect
            case sleep(until: UInt64?)
            case upkeep
            case rollUp
            /// One COPY (one commit) for these batches; then ``writeFinished(succeeded:)``.
            case write([PairBatch])
            /// Replay the oldest spool file (pairs first); then ``replayFinished(succeeded:)``.
            case replay
            /// Close the connection and end the thread; then ``databaseThreadEnded()``.
            case exit
        }

        /// What a failed connection attempt asks for.
        struct ConnectFailure: Equatable {
            /// Batches waiting in the hand-off, to go to the spool.
            var spool: [PairBatch]
            /// First failure since the last connection: log one warning.
            var logOutage: Bool
            /// No connection was ever made.
            var neverConnected: Bool
        }

        /// Counts drops and says when to log them (at most once per interval).
        struct DropReport: Equatable {
            var sinceReport = 0
            var lastReportNanos: UInt64? = nil

            mutating func count(_ n: Int, now: UInt64, interval: UInt64) -> Int? {
                sinceReport += n
                if let last = lastReportNanos, now &- last < interval { return nil }
                defer { sinceReport = 0 }
                lastReportNanos = now
                return sinceReport
            }
        }

        let limits: Limits
        private(set) var lifecycle = Lifecycle.created
        private(set) var database = Database.firstConnect
        private(set) var encoder = Encoder.waiting
        private(set) var work = Work.none
        private(set) var queue: [PairRecord] = []
        private(set) var labelQueue: [LabelRecord] = []
        /// When the oldest queued record arrived: the flush deadline counts from it.
        private(set) var firstQueuedNanos: UInt64 = 0
        /// Encoded batches waiting for the database thread.
        private(set) var handoff: [PairBatch] = []
        private(set) var nextUpkeepNanos: UInt64 = 0
        private(set) var nextRollUpNanos: UInt64 = 0
        /// 0.1 s after the first failure, doubling to 5 s; reset by a successful write or replay.
        private(set) var reconnect = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        private(set) var everConnected = false
        /// A connection failure was logged and no connection has been made since.
        private(set) var outageLogged = false
        private(set) var queueDrops = DropReport()
        private(set) var spoolDrops = DropReport()

        init(limits: Limits) {
            self.limits = limits
        }

        // MARK: Queries

        var queuedCount: Int { queue.count + labelQueue.count }
        var isStopping: Bool {
            switch lifecycle {
            case .stopping, .stopped: true
            case .created, .running: false
            }
        }
        var hasStopped: Bool { lifecycle == .stopped }
        var isConnected: Bool { database == .up }
        /// Batches go straight to the spool.
        var isDown: Bool {
            switch database {
            case .down, .abandoned: true
            case .firstConnect, .up: false
            }
        }
        /// Something is queued, being encoded, waiting for or being written, or being replayed.
        var isBusy: Bool {
            if queuedCount > 0 || !handoff.isEmpty || work != .none { return true }
            if case .encoding(_, let rows) = encoder, rows > 0 { return true }
            return false
        }

        // MARK: Lifecycle

        /// `true` when the threads must be started now (the first call only).
        mutating func start() -> Bool {
            guard lifecycle == .created else { return false }
            lifecycle = .running
            return true
        }

        /// Stop accepting records; both threads finish what is queued. Returns `true` when the
        /// threads must be started first (stop before start still drains through them).
        mutating func requestStop(now: UInt64) -> Bool {
            let startThreads = start()
            if lifecycle == .running { lifecycle = .stopping(replayUntil: now &+ limits.shutdownReplayNanos) }
            return startThreads
        }

        /// The database thread has closed its connection and ended.
        mutating func databaseThreadEnded() {
            lifecycle = .stopped
            database = .abandoned
            work = .none
        }

        // MARK: Queue

        mutating func submit(_ record: consuming PairRecord, now: UInt64) -> SubmitResult {
            let result = admit(now: now)
            if case .queued = result { queue.append(record) }
            return result
        }

        mutating func submit(label: LabelRecord, now: UInt64) -> SubmitResult {
            let result = admit(now: now)
            if case .queued = result { labelQueue.append(label) }
            return result
        }

        private mutating func admit(now: UInt64) -> SubmitResult {
            let depth = queuedCount
            if isStopping || depth >= limits.queueCapacity {
                let report = queueDrops.count(1, now: now, interval: limits.dropReportNanos)
                return .dropped(isStopping ? .stopped : .queueFull, report: report)
            }
            if depth == 0 { firstQueuedNanos = now }
            let n = depth + 1
            return .queued(wakeEncoder: n == 1 || n == limits.batchRows || n == limits.queueCapacity / 2)
        }

        // MARK: Encoder thread

        /// The encoder asks what next. On `.encode` the queues have been swapped with `pairs` and
        /// `labels` (pass them empty; they come back holding the records to encode).
        mutating func encoderStep(now: UInt64, pairs: inout [PairRecord], labels: inout [LabelRecord]) -> EncoderAction {
            let finishing = isStopping
            if !finishing {
                guard queuedCount > 0 else { return .sleep(until: nil) }
                let age = now &- firstQueuedNanos
                let due = queuedCount >= limits.batchRows || age >= limits.flushNanos
                if !due { return .sleep(until: now + (limits.flushNanos - age)) }
                let room = isDown || handoff.count < limits.maxPendingBatches || queuedCount >= limits.queueCapacity / 2
                // Waiting for the database thread to take a batch.
                if !room { return .sleep(until: now + limits.flushNanos) }
            }
            swap(&queue, &pairs)
            swap(&labelQueue, &labels)
            encoder = .encoding(finishing: finishing, rows: pairs.count + labels.count)
            return .encode(finishing: finishing)
        }

        /// The records taken by the last `.encode` are handed off or spooled. Returns `true` when
        /// the encoder is done (they were the last: shutdown began and nothing is queued).
        mutating func encoded() -> Bool {
            if case .encoding(finishing: true, _) = encoder, queuedCount == 0 {
                encoder = .done
                return true
            }
            encoder = .waiting
            return false
        }

        /// The encoder offers an encoded batch. It waits while `maxPendingBatches` are already
        /// waiting — unless the queue fills to half its capacity meanwhile (PostgreSQL too slow:
        /// spool), the database is down (spool), or shutdown began (hand off anyway).
        mutating func offer(_ batch: PairBatch) -> OfferResult {
            let full = handoff.count >= limits.maxPendingBatches
            if !isDown && !isStopping && full && queuedCount < limits.queueCapacity / 2 { return .wait }
            if !isDown && (!full || isStopping) {
                handoff.append(batch)
                return .handedOff
            }
            return .spool
        }

        /// The spool refused a batch; returns whether to log it now.
        mutating func spoolRefused(now: UInt64) -> Bool {
            spoolDrops.count(1, now: now, interval: limits.dropReportNanos) != nil
        }

        // MARK: Database thread

        /// The database thread asks what next.
        mutating func databaseStep(now: UInt64, spoolsEmpty: Bool) -> DatabaseAction {
            switch database {
            case .abandoned:
                // Wait for the encoder's last batches (it spools them itself: the database is down,
                // and the failed attempt took what waited in the hand-off).
                return encoder == .done ? .exit : .sleep(until: nil)
            case .firstConnect:
                return .connect
            case .down(let retryAt):
                return isStopping || now >= retryAt ? .connect : .sleep(until: retryAt)
            case .up:
                break
            }
            if now >= nextUpkeepNanos {
                nextUpkeepNanos = now + limits.upkeepIntervalNanos
                return .upkeep
            }
            if now >= nextRollUpNanos {
                nextRollUpNanos = now + limits.rollUpIntervalNanos
                return .rollUp
            }
            if !handoff.isEmpty {
                // Everything waiting goes in one COPY (one commit): under load batches grow on
                // their own, when idle each goes alone within flushMillis.
                var batches: [PairBatch] = []
                var rows = 0
                while let b = handoff.first, batches.isEmpty || rows + b.rowCount <= limits.batchRows * limits.maxPendingBatches {
                    batches.append(handoff.removeFirst())
                    rows += b.rowCount
                }
                work = .writing
                return .write(batches)
            }
            if case .stopping(let replayUntil) = lifecycle, encoder == .done, spoolsEmpty || now >= replayUntil {
                return .exit
            }
            if !spoolsEmpty {
                work = .replaying
                return .replay
            }
            return .sleep(until: min(nextUpkeepNanos, nextRollUpNanos, now + limits.idlePollNanos))
        }

        /// A connection was made. Returns whether to log that spooled rows will now be replayed
        /// (after an outage was logged, or with a spool left by an earlier run).
        mutating func connected(spoolsEmpty: Bool) -> Bool {
            let announce = outageLogged || !spoolsEmpty
            database = .up
            everConnected = true
            outageLogged = false
            // Upkeep and roll-up run at once on every (re)connect.
            nextUpkeepNanos = 0
            nextRollUpNanos = 0
            return announce
        }

        /// A connection attempt failed: back off, spool what waits. During shutdown there is no
        /// further attempt.
        mutating func connectFailed(now: UInt64) -> ConnectFailure {
            let delay = reconnect.next()
            database = isStopping ? .abandoned : .down(retryAt: now &+ Self.nanos(delay))
            let failure = ConnectFailure(spool: takeHandoff(), logOutage: !outageLogged, neverConnected: !everConnected)
            outageLogged = true
            return failure
        }

        /// A write, replay, upkeep or roll-up failed for a reason other than bad data: the
        /// connection is dropped and made again after a backoff. Returns the batches waiting in
        /// the hand-off, to be spooled (with those the failed write held).
        mutating func connectionLost(now: UInt64) -> [PairBatch] {
            let delay = reconnect.next()
            database = .down(retryAt: now &+ Self.nanos(delay))
            return takeHandoff()
        }

        mutating func writeFinished(succeeded: Bool) {
            work = .none
            if succeeded { reconnect.reset() }
        }

        mutating func replayFinished(succeeded: Bool) {
            work = .none
            if succeeded { reconnect.reset() }
        }

        /// Upkeep failed for a reason other than the connection (migrations missing?): retry later.
        mutating func upkeepFailed(now: UInt64) {
            nextUpkeepNanos = now + limits.retryFailedMaintenanceNanos
        }

        /// The roll-up failed for a reason other than the connection: retry later.
        mutating func rollUpFailed(now: UInt64) {
            nextRollUpNanos = now + limits.retryFailedMaintenanceNanos
        }

        private mutating func takeHandoff() -> [PairBatch] {
            defer { handoff = [] }
            return handoff
        }

        static func nanos(_ d: Duration) -> UInt64 {
            let (seconds, attoseconds) = d.components
            return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        }
    }
}
