@testable import ShadowGatePairLog
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateTesting
import Testing

/// Every transition of the pair-log writer's lifecycle, without threads, clocks or a database:
/// time is given in nanoseconds, spool emptiness is given as a fact.
@Suite struct PairLogWriterStateMachineTests {
    typealias Machine = PairLogWriter.StateMachine

    static let ms: UInt64 = 1_000_000
    static let second: UInt64 = 1_000_000_000
    /// An arbitrary monotonic start, far from 0 so "never" and "now" are not confused.
    static let t0: UInt64 = 1_000 * second

    /// batchRows 4, flush 20 ms, capacity 16, 2 batches pending, upkeep hourly, roll-up every 30 s.
    static func machine(batchRows: Int = 4, queueCapacity: Int = 16, maxPendingBatches: Int = 2) -> Machine {
        Machine(limits: .init(
            batchRows: batchRows, flushNanos: 20 * ms, queueCapacity: queueCapacity, maxPendingBatches: maxPendingBatches,
            upkeepIntervalNanos: 3600 * second, rollUpIntervalNanos: 30 * second))
    }

    static func record(_ i: Int) -> PairRecord {
        var rng = SeededGenerator(seed: UInt64(i))
        return PairRecordFactory.record(i, run: "sm", rng: &rng)
    }

    static func label(_ i: Int) -> LabelRecord {
        LabelRecord(requestID: "sm-\(i)", route: "churn", label: "1", receivedAtMicros: Int64(i))
    }

    static func batch(rows: Int, kind: PairLogRowKind = .pairs) -> PairBatch {
        PairBatch(kind: kind, bytes: Array(repeating: 0x0A, count: rows), rowEnds: Array(1...rows))
    }

    /// A machine connected at `t0`, with upkeep and roll-up done (next due at t0 + 30 s / 1 h).
    static func connected(_ m: inout Machine) {
        let startsThreads = m.start()
        #expect(startsThreads)
        var step = m.databaseStep(now: t0, spoolsEmpty: true)
        #expect(step == .connect)
        let announced = m.connected(spoolsEmpty: true)
        #expect(!announced)
        step = m.databaseStep(now: t0, spoolsEmpty: true)
        #expect(step == .upkeep)
        step = m.databaseStep(now: t0, spoolsEmpty: true)
        #expect(step == .rollUp)
    }

    // MARK: Lifecycle

    @Test func startIsIdempotent() {
        var m = Self.machine()
        #expect(m.lifecycle == .created)
        var startsThreads = m.start()
        #expect(startsThreads)
        #expect(m.lifecycle == .running)
        startsThreads = m.start()
        #expect(!startsThreads)
        #expect(m.lifecycle == .running)
    }

    @Test func stopBeforeStartStartsTheThreadsAndSetsTheReplayDeadlineOnce() {
        var m = Self.machine()
        var startsThreads = m.requestStop(now: Self.t0)
        #expect(startsThreads)
        #expect(m.lifecycle == .stopping(replayUntil: Self.t0 + 5 * Self.second))
        #expect(m.isStopping)
        startsThreads = m.requestStop(now: Self.t0 + Self.second)
        #expect(!startsThreads)
        #expect(m.lifecycle == .stopping(replayUntil: Self.t0 + 5 * Self.second))
        startsThreads = m.start()
        #expect(!startsThreads)
    }

    // MARK: Queue

    @Test func submissionsWakeTheEncoderAtFirstRecordFullBatchAndHalfCapacity() {
        var m = Self.machine(batchRows: 4, queueCapacity: 16)
        var wakes: [Int] = []
        for i in 1...16 {
            let result = i % 2 == 0 ? m.submit(Self.record(i), now: Self.t0 + UInt64(i)) : m.submit(label: Self.label(i), now: Self.t0 + UInt64(i))
            guard case .queued(let wake) = result else {
                Issue.record("record \(i) refused: \(result)")
                continue
            }
            if wake { wakes.append(i) }
        }
        #expect(wakes == [1, 4, 8])
        #expect(m.queuedCount == 16)
        #expect(m.queue.count == 8 && m.labelQueue.count == 8)
        // The flush deadline counts from the first record.
        #expect(m.firstQueuedNanos == Self.t0 + 1)
        #expect(m.isBusy)
    }

    @Test func aFullQueueDropsAndReportsAtMostOncePerTenSeconds() {
        var m = Self.machine(batchRows: 4, queueCapacity: 4)
        for i in 0..<4 { _ = m.submit(Self.record(i), now: Self.t0) }
        var submitted = m.submit(Self.record(4), now: Self.t0)
        #expect(submitted == .dropped(.queueFull, report: 1))
        submitted = m.submit(label: Self.label(5), now: Self.t0 + Self.second)
        #expect(submitted == .dropped(.queueFull, report: nil))
        submitted = m.submit(Self.record(6), now: Self.t0 + 9 * Self.second)
        #expect(submitted == .dropped(.queueFull, report: nil))
        // The next report carries every drop since the last one.
        submitted = m.submit(Self.record(7), now: Self.t0 + 10 * Self.second)
        #expect(submitted == .dropped(.queueFull, report: 3))
        #expect(m.queuedCount == 4)
    }

    @Test func aStoppedWriterRefusesRecords() {
        var m = Self.machine()
        _ = m.requestStop(now: Self.t0)
        var submitted = m.submit(Self.record(1), now: Self.t0)
        #expect(submitted == .dropped(.stopped, report: 1))
        submitted = m.submit(label: Self.label(1), now: Self.t0)
        #expect(submitted == .dropped(.stopped, report: nil))
        #expect(m.queuedCount == 0)
    }

    // MARK: Encoder

    @Test func theEncoderSleepsUntilTheFlushDeadlineThenTakesTheQueue() {
        var m = Self.machine()
        _ = m.start()
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        var encoderAction = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(encoderAction == .sleep(until: nil))
        _ = m.submit(Self.record(1), now: Self.t0)
        _ = m.submit(label: Self.label(1), now: Self.t0 + 5 * Self.ms)
        encoderAction = m.encoderStep(now: Self.t0 + 5 * Self.ms, pairs: &pairs, labels: &labels)
        #expect(encoderAction == .sleep(until: Self.t0 + 20 * Self.ms))
        encoderAction = m.encoderStep(now: Self.t0 + 20 * Self.ms, pairs: &pairs, labels: &labels)
        #expect(encoderAction == .encode(finishing: false))
        #expect(pairs.count == 1 && labels.count == 1)
        #expect(m.queuedCount == 0)
        #expect(m.encoder == .encoding(finishing: false, rows: 2))
        #expect(m.isBusy)
        let encoderDone = m.encoded()
        #expect(!encoderDone)
        #expect(m.encoder == .waiting)
        #expect(!m.isBusy)
    }

    @Test func aFullBatchIsTakenBeforeTheFlushDeadline() {
        var m = Self.machine(batchRows: 4)
        _ = m.start()
        for i in 0..<4 { _ = m.submit(Self.record(i), now: Self.t0) }
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        let encoderAction = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(encoderAction == .encode(finishing: false))
        #expect(pairs.map(\.requestID) == (0..<4).map { "sm-\($0)" })
    }

    @Test func theEncoderWaitsForRoomInTheHandoffUnlessTheDatabaseIsDownOrTheQueueHalfFull() {
        var m = Self.machine(batchRows: 4, queueCapacity: 16, maxPendingBatches: 2)
        Self.connected(&m)
        var offered = m.offer(Self.batch(rows: 4))
        #expect(offered == .handedOff)
        offered = m.offer(Self.batch(rows: 4))
        #expect(offered == .handedOff)
        for i in 0..<4 { _ = m.submit(Self.record(i), now: Self.t0) }
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        // Due (a full batch) but two batches already wait: check again after a flush interval.
        var encoderAction = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(encoderAction == .sleep(until: Self.t0 + 20 * Self.ms))
        // Half the queue's capacity: take it (it will be spooled rather than wait).
        for i in 4..<8 { _ = m.submit(Self.record(i), now: Self.t0) }
        encoderAction = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(encoderAction == .encode(finishing: false))
        #expect(pairs.count == 8)

        // Down: batches go to the spool, so the encoder never waits for the hand-off.
        var down = Self.machine(batchRows: 4, queueCapacity: 16, maxPendingBatches: 2)
        _ = down.start()
        offered = down.offer(Self.batch(rows: 4))
        #expect(offered == .handedOff)
        offered = down.offer(Self.batch(rows: 4))
        #expect(offered == .handedOff)
        _ = down.connectFailed(now: Self.t0)
        for i in 0..<4 { _ = down.submit(Self.record(i), now: Self.t0) }
        var downPairs: [PairRecord] = []
        encoderAction = down.encoderStep(now: Self.t0, pairs: &downPairs, labels: &labels)
        #expect(encoderAction == .encode(finishing: false))
    }

    @Test func onStopTheEncoderTakesWhatIsQueuedAndEndsWhenNothingIsLeft() {
        var m = Self.machine()
        _ = m.start()
        _ = m.submit(Self.record(1), now: Self.t0)
        _ = m.requestStop(now: Self.t0)
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        // No waiting for the flush deadline once stopping.
        var encoderAction = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(encoderAction == .encode(finishing: true))
        #expect(pairs.count == 1)
        var encoderDone = m.encoded()
        #expect(encoderDone)
        #expect(m.encoder == .done)

        // Stopping with nothing queued: one empty round, then done; an empty round is not busy.
        var idle = Self.machine()
        _ = idle.requestStop(now: Self.t0)
        var none: [PairRecord] = []
        encoderAction = idle.encoderStep(now: Self.t0, pairs: &none, labels: &labels)
        #expect(encoderAction == .encode(finishing: true))
        #expect(!idle.isBusy)
        encoderDone = idle.encoded()
        #expect(encoderDone)
    }

    // MARK: Hand-off

    @Test func offeredBatchesAreHandedOffWaitOrGoToTheSpool() {
        var m = Self.machine(batchRows: 4, queueCapacity: 16, maxPendingBatches: 2)
        _ = m.start()
        // Before the first connection attempt has failed, batches wait for it.
        var offered = m.offer(Self.batch(rows: 1))
        #expect(offered == .handedOff)
        offered = m.offer(Self.batch(rows: 1))
        #expect(offered == .handedOff)
        offered = m.offer(Self.batch(rows: 1))
        #expect(offered == .wait)
        // The queue reached half its capacity meanwhile: PostgreSQL is too slow, spool.
        for i in 0..<8 { _ = m.submit(Self.record(i), now: Self.t0) }
        offered = m.offer(Self.batch(rows: 1))
        #expect(offered == .spool)
        #expect(m.handoff.count == 2)

        // Shutdown: hand off even beyond the limit.
        _ = m.requestStop(now: Self.t0)
        offered = m.offer(Self.batch(rows: 1))
        #expect(offered == .handedOff)
        #expect(m.handoff.count == 3)

        // Down: spool.
        var down = Self.machine()
        _ = down.start()
        _ = down.connectFailed(now: Self.t0)
        #expect(down.isDown)
        offered = down.offer(Self.batch(rows: 1))
        #expect(offered == .spool)
        #expect(down.handoff.isEmpty)
    }

    @Test func refusedSpoolWritesAreReportedAtMostOncePerTenSeconds() {
        var m = Self.machine()
        var reported = m.spoolRefused(now: Self.t0)
        #expect(reported)
        reported = m.spoolRefused(now: Self.t0 + 9 * Self.second)
        #expect(!reported)
        reported = m.spoolRefused(now: Self.t0 + 10 * Self.second)
        #expect(reported)
    }

    // MARK: Database thread

    @Test func afterConnectingUpkeepAndRollUpRunThenTheThreadSleepsUntilTheNextTimer() {
        var m = Self.machine()
        #expect(m.database == .firstConnect)
        #expect(!m.isDown)
        Self.connected(&m)
        #expect(m.isConnected)
        #expect(m.nextUpkeepNanos == Self.t0 + 3600 * Self.second)
        #expect(m.nextRollUpNanos == Self.t0 + 30 * Self.second)
        // Idle: re-check the spool every second.
        var step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .sleep(until: Self.t0 + Self.second))
        step = m.databaseStep(now: Self.t0 + 29_500 * Self.ms, spoolsEmpty: true)
        #expect(step == .sleep(until: Self.t0 + 30 * Self.second))
        // The roll-up every 30 s.
        step = m.databaseStep(now: Self.t0 + 30 * Self.second, spoolsEmpty: true)
        #expect(step == .rollUp)
        #expect(m.nextRollUpNanos == Self.t0 + 60 * Self.second)
        step = m.databaseStep(now: Self.t0 + 3600 * Self.second, spoolsEmpty: true)
        #expect(step == .upkeep)
    }

    @Test func failedMaintenanceIsRetriedAfterAMinute() {
        var m = Self.machine()
        Self.connected(&m)
        m.upkeepFailed(now: Self.t0)
        m.rollUpFailed(now: Self.t0)
        #expect(m.nextUpkeepNanos == Self.t0 + 60 * Self.second)
        #expect(m.nextRollUpNanos == Self.t0 + 60 * Self.second)
        var step = m.databaseStep(now: Self.t0 + 60 * Self.second, spoolsEmpty: true)
        #expect(step == .upkeep)
        step = m.databaseStep(now: Self.t0 + 60 * Self.second, spoolsEmpty: true)
        #expect(step == .rollUp)
    }

    @Test func waitingBatchesAreWrittenTogetherUpToTheirLimit() {
        var m = Self.machine(batchRows: 4, maxPendingBatches: 2)
        Self.connected(&m)
        let a = Self.batch(rows: 3), b = Self.batch(rows: 4, kind: .labels)
        var offered = m.offer(a)
        #expect(offered == .handedOff)
        offered = m.offer(b)
        #expect(offered == .handedOff)
        // A shutdown lets the hand-off grow beyond the limit; one COPY takes at most batchRows × maxPendingBatches rows.
        _ = m.requestStop(now: Self.t0)
        let c = Self.batch(rows: 2)
        offered = m.offer(c)
        #expect(offered == .handedOff)
        var step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .write([a, b]))
        #expect(m.work == .writing)
        #expect(m.isBusy)
        m.writeFinished(succeeded: true)
        #expect(m.work == .none)
        step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .write([c]))
        m.writeFinished(succeeded: true)
        #expect(!m.isBusy)
    }

    @Test func aNonEmptySpoolIsReplayedWhenNothingWaits() {
        var m = Self.machine()
        Self.connected(&m)
        let offered = m.offer(Self.batch(rows: 1))
        #expect(offered == .handedOff)
        // Batches waiting come first.
        var step = m.databaseStep(now: Self.t0, spoolsEmpty: false)
        #expect(step == .write([Self.batch(rows: 1)]))
        m.writeFinished(succeeded: true)
        step = m.databaseStep(now: Self.t0, spoolsEmpty: false)
        #expect(step == .replay)
        #expect(m.work == .replaying)
        #expect(m.isBusy)
        m.replayFinished(succeeded: true)
        #expect(m.work == .none)
    }

    @Test func failedConnectionAttemptsSpoolTheHandoffLogOnceAndBackOff() {
        var m = Self.machine()
        _ = m.start()
        let waiting = Self.batch(rows: 2)
        let offered = m.offer(waiting)
        #expect(offered == .handedOff)
        var step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .connect)
        var failure = m.connectFailed(now: Self.t0)
        #expect(failure == .init(spool: [waiting], logOutage: true, neverConnected: true))
        #expect(m.database == .down(retryAt: Self.t0 + 100 * Self.ms))
        #expect(m.handoff.isEmpty)
        step = m.databaseStep(now: Self.t0 + 50 * Self.ms, spoolsEmpty: true)
        #expect(step == .sleep(until: Self.t0 + 100 * Self.ms))
        step = m.databaseStep(now: Self.t0 + 100 * Self.ms, spoolsEmpty: true)
        #expect(step == .connect)
        // The second failure is not logged again; the delay doubles.
        let t1 = Self.t0 + 100 * Self.ms
        failure = m.connectFailed(now: t1)
        #expect(failure == .init(spool: [], logOutage: false, neverConnected: true))
        #expect(m.database == .down(retryAt: t1 + 200 * Self.ms))
        // Reconnected after a logged outage: announce the replay; upkeep and roll-up run at once.
        let announced = m.connected(spoolsEmpty: true)
        #expect(announced)
        step = m.databaseStep(now: t1 + Self.second, spoolsEmpty: false)
        #expect(step == .upkeep)
        step = m.databaseStep(now: t1 + Self.second, spoolsEmpty: false)
        #expect(step == .rollUp)
        step = m.databaseStep(now: t1 + Self.second, spoolsEmpty: false)
        #expect(step == .replay)
    }

    @Test func theDelayGrowsToFiveSecondsAndASuccessfulWriteResetsIt() {
        var m = Self.machine()
        Self.connected(&m)
        var delays: [UInt64] = []
        var now = Self.t0
        for _ in 0..<8 {
            _ = m.connectionLost(now: now)
            guard case .down(let retryAt) = m.database else {
                Issue.record("not down after a lost connection: \(m.database)")
                return
            }
            delays.append((retryAt - now) / Self.ms)
            now = retryAt
        }
        #expect(delays == [100, 200, 400, 800, 1600, 3200, 5000, 5000])
        let announced = m.connected(spoolsEmpty: true)
        #expect(!announced)  // a lost connection logs its own warning
        m.writeFinished(succeeded: false)
        _ = m.connectionLost(now: now)
        #expect(m.database == .down(retryAt: now + 5000 * Self.ms))
        _ = m.connected(spoolsEmpty: true)
        m.replayFinished(succeeded: true)
        _ = m.connectionLost(now: now)
        #expect(m.database == .down(retryAt: now + 100 * Self.ms))
    }

    @Test func aLostConnectionReturnsTheWaitingBatchesForTheSpool() {
        var m = Self.machine()
        Self.connected(&m)
        let a = Self.batch(rows: 1), b = Self.batch(rows: 2)
        _ = m.offer(a)
        let step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .write([a]))
        _ = m.offer(b)
        let toSpool = m.connectionLost(now: Self.t0)
        #expect(toSpool == [b])
        #expect(m.isDown)
        #expect(!m.isConnected)
        // Still busy until the failed write's own batches are spooled.
        #expect(m.isBusy)
        m.writeFinished(succeeded: false)
        #expect(!m.isBusy)
    }

    // MARK: Shutdown

    @Test func aConnectedWriterDrainsReplaysUntilTheDeadlineAndExits() {
        var m = Self.machine()
        Self.connected(&m)
        _ = m.requestStop(now: Self.t0)
        // The encoder has not finished: keep waiting for its batches.
        var step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .sleep(until: Self.t0 + Self.second))
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        _ = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        let encoderDone = m.encoded()
        #expect(encoderDone)
        step = m.databaseStep(now: Self.t0, spoolsEmpty: false)
        #expect(step == .replay)
        m.replayFinished(succeeded: true)
        // Five seconds after the stop request the spool is left for the next writer.
        step = m.databaseStep(now: Self.t0 + 5 * Self.second, spoolsEmpty: false)
        #expect(step == .exit)
        step = m.databaseStep(now: Self.t0 + Self.second, spoolsEmpty: true)
        #expect(step == .exit)
        #expect(!m.hasStopped)
        m.databaseThreadEnded()
        #expect(m.hasStopped)
        #expect(m.lifecycle == .stopped)
        #expect(!m.isConnected)
        let submitted = m.submit(Self.record(1), now: Self.t0)
        #expect(submitted == .dropped(.stopped, report: 1))
    }

    @Test func aWriterStoppedWhileDownTriesOnceMoreThenSpoolsTheRestAndExits() {
        var m = Self.machine()
        _ = m.start()
        _ = m.connectFailed(now: Self.t0)
        _ = m.requestStop(now: Self.t0 + Self.ms)
        // No waiting for the backoff: one last attempt at once.
        var step = m.databaseStep(now: Self.t0 + Self.ms, spoolsEmpty: true)
        #expect(step == .connect)
        let failure = m.connectFailed(now: Self.t0 + Self.ms)
        #expect(failure.logOutage == false)
        #expect(m.database == .abandoned)
        // Wait for the encoder; its batches go to the spool meanwhile (the database is down) …
        step = m.databaseStep(now: Self.t0 + Self.ms, spoolsEmpty: true)
        #expect(step == .sleep(until: nil))
        let offered = m.offer(Self.batch(rows: 1))
        #expect(offered == .spool)
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        _ = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        let encoderDone = m.encoded()
        #expect(encoderDone)
        step = m.databaseStep(now: Self.t0 + Self.ms, spoolsEmpty: false)
        #expect(step == .exit)
    }

    @Test func batchesWaitingForTheFirstConnectionAreSpooledWhenStoppedWithoutOne() {
        var m = Self.machine()
        _ = m.start()
        let waiting = Self.batch(rows: 3)
        let offered = m.offer(waiting)
        #expect(offered == .handedOff)
        _ = m.requestStop(now: Self.t0)
        var step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .connect)
        // The attempt fails: what waited goes to the spool with the failure, none is left behind.
        let failure = m.connectFailed(now: Self.t0)
        #expect(failure == .init(spool: [waiting], logOutage: true, neverConnected: true))
        #expect(m.handoff.isEmpty)
        #expect(m.database == .abandoned)
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        _ = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        _ = m.encoded()
        step = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(step == .exit)
    }
}
