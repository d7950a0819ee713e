@testable import ShadowGatePairLog
import ShadowGateCore
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
        let r1 = m.start()
        #expect(r1)
        let r2 = m.databaseStep(now: t0, spoolsEmpty: true)
        #expect(r2 == .connect)
        let r3 = m.connected(spoolsEmpty: true)
        #expect(!r3)
        let r4 = m.databaseStep(now: t0, spoolsEmpty: true)
        #expect(r4 == .upkeep)
        let r5 = m.databaseStep(now: t0, spoolsEmpty: true)
        #expect(r5 == .rollUp)
    }

    // MARK: Lifecycle

    @Test func startIsIdempotent() {
        var m = Self.machine()
        #expect(m.lifecycle == .created)
        let r6 = m.start()
        #expect(r6)
        #expect(m.lifecycle == .running)
        let r7 = m.start()
        #expect(!r7)
        #expect(m.lifecycle == .running)
    }

    @Test func stopBeforeStartStartsTheThreadsAndSetsTheReplayDeadlineOnce() {
        var m = Self.machine()
        let r8 = m.requestStop(now: Self.t0)
        #expect(r8)
        #expect(m.lifecycle == .stopping(replayUntil: Self.t0 + 5 * Self.second))
        #expect(m.isStopping)
        let r9 = m.requestStop(now: Self.t0 + Self.second)
        #expect(!r9)
        #expect(m.lifecycle == .stopping(replayUntil: Self.t0 + 5 * Self.second))
        let r10 = m.start()
        #expect(!r10)
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
        let r11 = m.submit(Self.record(4), now: Self.t0)
        #expect(r11 == .dropped(.queueFull, report: 1))
        let r12 = m.submit(label: Self.label(5), now: Self.t0 + Self.second)
        #expect(r12 == .dropped(.queueFull, report: nil))
        let r13 = m.submit(Self.record(6), now: Self.t0 + 9 * Self.second)
        #expect(r13 == .dropped(.queueFull, report: nil))
        // The next report carries every drop since the last one.
        let r14 = m.submit(Self.record(7), now: Self.t0 + 10 * Self.second)
        #expect(r14 == .dropped(.queueFull, report: 3))
        #expect(m.queuedCount == 4)
    }

    @Test func aStoppedWriterRefusesRecords() {
        var m = Self.machine()
        _ = m.requestStop(now: Self.t0)
        let r15 = m.submit(Self.record(1), now: Self.t0)
        #expect(r15 == .dropped(.stopped, report: 1))
        let r16 = m.submit(label: Self.label(1), now: Self.t0)
        #expect(r16 == .dropped(.stopped, report: nil))
        #expect(m.queuedCount == 0)
    }

    // MARK: Encoder

    @Test func theEncoderSleepsUntilTheFlushDeadlineThenTakesTheQueue() {
        var m = Self.machine()
        _ = m.start()
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        let r17 = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(r17 == .sleep(until: nil))
        _ = m.submit(Self.record(1), now: Self.t0)
        _ = m.submit(label: Self.label(1), now: Self.t0 + 5 * Self.ms)
        let r18 = m.encoderStep(now: Self.t0 + 5 * Self.ms, pairs: &pairs, labels: &labels)
        #expect(r18 == .sleep(until: Self.t0 + 20 * Self.ms))
        let r19 = m.encoderStep(now: Self.t0 + 20 * Self.ms, pairs: &pairs, labels: &labels)
        #expect(r19 == .encode(finishing: false))
        #expect(pairs.count == 1 && labels.count == 1)
        #expect(m.queuedCount == 0)
        #expect(m.encoder == .encoding(finishing: false, rows: 2))
        #expect(m.isBusy)
        let r20 = m.encoded()
        #expect(!r20)
        #expect(m.encoder == .waiting)
        #expect(!m.isBusy)
    }

    @Test func aFullBatchIsTakenBeforeTheFlushDeadline() {
        var m = Self.machine(batchRows: 4)
        _ = m.start()
        for i in 0..<4 { _ = m.submit(Self.record(i), now: Self.t0) }
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        let r21 = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(r21 == .encode(finishing: false))
        #expect(pairs.map(\.requestID) == (0..<4).map { "sm-\($0)" })
    }

    @Test func theEncoderWaitsForRoomInTheHandoffUnlessTheDatabaseIsDownOrTheQueueHalfFull() {
        var m = Self.machine(batchRows: 4, queueCapacity: 16, maxPendingBatches: 2)
        Self.connected(&m)
        let r22 = m.offer(Self.batch(rows: 4))
        #expect(r22 == .handedOff)
        let r23 = m.offer(Self.batch(rows: 4))
        #expect(r23 == .handedOff)
        for i in 0..<4 { _ = m.submit(Self.record(i), now: Self.t0) }
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        // Due (a full batch) but two batches already wait: check again after a flush interval.
        let r24 = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(r24 == .sleep(until: Self.t0 + 20 * Self.ms))
        // Half the queue's capacity: take it (it will be spooled rather than wait).
        for i in 4..<8 { _ = m.submit(Self.record(i), now: Self.t0) }
        let r25 = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(r25 == .encode(finishing: false))
        #expect(pairs.count == 8)

        // Down: batches go to the spool, so the encoder never waits for the hand-off.
        var down = Self.machine(batchRows: 4, queueCapacity: 16, maxPendingBatches: 2)
        _ = down.start()
        let r26 = down.offer(Self.batch(rows: 4))
        #expect(r26 == .handedOff)
        let r27 = down.offer(Self.batch(rows: 4))
        #expect(r27 == .handedOff)
        _ = down.connectFailed(now: Self.t0)
        for i in 0..<4 { _ = down.submit(Self.record(i), now: Self.t0) }
        var downPairs: [PairRecord] = []
        let r28 = down.encoderStep(now: Self.t0, pairs: &downPairs, labels: &labels)
        #expect(r28 == .encode(finishing: false))
    }

    @Test func onStopTheEncoderTakesWhatIsQueuedAndEndsWhenNothingIsLeft() {
        var m = Self.machine()
        _ = m.start()
        _ = m.submit(Self.record(1), now: Self.t0)
        _ = m.requestStop(now: Self.t0)
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        // No waiting for the flush deadline once stopping.
        let r29 = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        #expect(r29 == .encode(finishing: true))
        #expect(pairs.count == 1)
        let r30 = m.encoded()
        #expect(r30)
        #expect(m.encoder == .done)

        // Stopping with nothing queued: one empty round, then done; an empty round is not busy.
        var idle = Self.machine()
        _ = idle.requestStop(now: Self.t0)
        var none: [PairRecord] = []
        let r31 = idle.encoderStep(now: Self.t0, pairs: &none, labels: &labels)
        #expect(r31 == .encode(finishing: true))
        #expect(!idle.isBusy)
        let r32 = idle.encoded()
        #expect(r32)
    }

    // MARK: Hand-off

    @Test func offeredBatchesAreHandedOffWaitOrGoToTheSpool() {
        var m = Self.machine(batchRows: 4, queueCapacity: 16, maxPendingBatches: 2)
        _ = m.start()
        // Before the first connection attempt has failed, batches wait for it.
        let r33 = m.offer(Self.batch(rows: 1))
        #expect(r33 == .handedOff)
        let r34 = m.offer(Self.batch(rows: 1))
        #expect(r34 == .handedOff)
        let r35 = m.offer(Self.batch(rows: 1))
        #expect(r35 == .wait)
        // The queue reached half its capacity meanwhile: PostgreSQL is too slow, spool.
        for i in 0..<8 { _ = m.submit(Self.record(i), now: Self.t0) }
        let r36 = m.offer(Self.batch(rows: 1))
        #expect(r36 == .spool)
        #expect(m.handoff.count == 2)

        // Shutdown: hand off even beyond the limit.
        _ = m.requestStop(now: Self.t0)
        let r37 = m.offer(Self.batch(rows: 1))
        #expect(r37 == .handedOff)
        #expect(m.handoff.count == 3)

        // Down: spool.
        var down = Self.machine()
        _ = down.start()
        _ = down.connectFailed(now: Self.t0)
        #expect(down.isDown)
        let r38 = down.offer(Self.batch(rows: 1))
        #expect(r38 == .spool)
        #expect(down.handoff.isEmpty)
    }

    @Test func refusedSpoolWritesAreReportedAtMostOncePerTenSeconds() {
        var m = Self.machine()
        let r39 = m.spoolRefused(now: Self.t0)
        #expect(r39)
        let r40 = m.spoolRefused(now: Self.t0 + 9 * Self.second)
        #expect(!r40)
        let r41 = m.spoolRefused(now: Self.t0 + 10 * Self.second)
        #expect(r41)
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
        let r42 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r42 == .sleep(until: Self.t0 + Self.second))
        let r43 = m.databaseStep(now: Self.t0 + 29_500 * Self.ms, spoolsEmpty: true)
        #expect(r43 == .sleep(until: Self.t0 + 30 * Self.second))
        // The roll-up every 30 s.
        let r44 = m.databaseStep(now: Self.t0 + 30 * Self.second, spoolsEmpty: true)
        #expect(r44 == .rollUp)
        #expect(m.nextRollUpNanos == Self.t0 + 60 * Self.second)
        let r45 = m.databaseStep(now: Self.t0 + 3600 * Self.second, spoolsEmpty: true)
        #expect(r45 == .upkeep)
    }

    @Test func failedMaintenanceIsRetriedAfterAMinute() {
        var m = Self.machine()
        Self.connected(&m)
        m.upkeepFailed(now: Self.t0)
        m.rollUpFailed(now: Self.t0)
        #expect(m.nextUpkeepNanos == Self.t0 + 60 * Self.second)
        #expect(m.nextRollUpNanos == Self.t0 + 60 * Self.second)
        let r46 = m.databaseStep(now: Self.t0 + 60 * Self.second, spoolsEmpty: true)
        #expect(r46 == .upkeep)
        let r47 = m.databaseStep(now: Self.t0 + 60 * Self.second, spoolsEmpty: true)
        #expect(r47 == .rollUp)
    }

    @Test func waitingBatchesAreWrittenTogetherUpToTheirLimit() {
        var m = Self.machine(batchRows: 4, maxPendingBatches: 2)
        Self.connected(&m)
        let a = Self.batch(rows: 3), b = Self.batch(rows: 4, kind: .labels)
        let r48 = m.offer(a)
        #expect(r48 == .handedOff)
        let r49 = m.offer(b)
        #expect(r49 == .handedOff)
        // A shutdown lets the hand-off grow beyond the limit; one COPY takes at most batchRows × maxPendingBatches rows.
        _ = m.requestStop(now: Self.t0)
        let c = Self.batch(rows: 2)
        let r50 = m.offer(c)
        #expect(r50 == .handedOff)
        let r51 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r51 == .write([a, b]))
        #expect(m.work == .writing)
        #expect(m.isBusy)
        m.writeFinished(succeeded: true)
        #expect(m.work == .none)
        let r52 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r52 == .write([c]))
        m.writeFinished(succeeded: true)
        #expect(!m.isBusy)
    }

    @Test func aNonEmptySpoolIsReplayedWhenNothingWaits() {
        var m = Self.machine()
        Self.connected(&m)
        let r53 = m.offer(Self.batch(rows: 1))
        #expect(r53 == .handedOff)
        // Batches waiting come first.
        let r54 = m.databaseStep(now: Self.t0, spoolsEmpty: false)
        #expect(r54 == .write([Self.batch(rows: 1)]))
        m.writeFinished(succeeded: true)
        let r55 = m.databaseStep(now: Self.t0, spoolsEmpty: false)
        #expect(r55 == .replay)
        #expect(m.work == .replaying)
        #expect(m.isBusy)
        m.replayFinished(succeeded: true)
        #expect(m.work == .none)
    }

    @Test func failedConnectionAttemptsSpoolTheHandoffLogOnceAndBackOff() {
        var m = Self.machine()
        _ = m.start()
        let waiting = Self.batch(rows: 2)
        let r56 = m.offer(waiting)
        #expect(r56 == .handedOff)
        let r57 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r57 == .connect)
        let r58 = m.connectFailed(now: Self.t0)
        #expect(r58 == .init(spool: [waiting], logOutage: true, neverConnected: true))
        #expect(m.database == .down(retryAt: Self.t0 + 100 * Self.ms))
        #expect(m.handoff.isEmpty)
        let r59 = m.databaseStep(now: Self.t0 + 50 * Self.ms, spoolsEmpty: true)
        #expect(r59 == .sleep(until: Self.t0 + 100 * Self.ms))
        let r60 = m.databaseStep(now: Self.t0 + 100 * Self.ms, spoolsEmpty: true)
        #expect(r60 == .connect)
        // The second failure is not logged again; the delay doubles.
        let t1 = Self.t0 + 100 * Self.ms
        let r61 = m.connectFailed(now: t1)
        #expect(r61 == .init(spool: [], logOutage: false, neverConnected: true))
        #expect(m.database == .down(retryAt: t1 + 200 * Self.ms))
        // Reconnected after a logged outage: announce the replay; upkeep and roll-up run at once.
        let r62 = m.connected(spoolsEmpty: true)
        #expect(r62)
        let r63 = m.databaseStep(now: t1 + Self.second, spoolsEmpty: false)
        #expect(r63 == .upkeep)
        let r64 = m.databaseStep(now: t1 + Self.second, spoolsEmpty: false)
        #expect(r64 == .rollUp)
        let r65 = m.databaseStep(now: t1 + Self.second, spoolsEmpty: false)
        #expect(r65 == .replay)
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
        let r66 = m.connected(spoolsEmpty: true)
        #expect(!r66)  // a lost connection logs its own warning
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
        let r67 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r67 == .write([a]))
        _ = m.offer(b)
        let r68 = m.connectionLost(now: Self.t0)
        #expect(r68 == [b])
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
        let r69 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r69 == .sleep(until: Self.t0 + Self.second))
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        _ = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        let r70 = m.encoded()
        #expect(r70)
        let r71 = m.databaseStep(now: Self.t0, spoolsEmpty: false)
        #expect(r71 == .replay)
        m.replayFinished(succeeded: true)
        // Five seconds after the stop request the spool is left for the next writer.
        let r72 = m.databaseStep(now: Self.t0 + 5 * Self.second, spoolsEmpty: false)
        #expect(r72 == .exit)
        let r73 = m.databaseStep(now: Self.t0 + Self.second, spoolsEmpty: true)
        #expect(r73 == .exit)
        #expect(!m.hasStopped)
        m.databaseThreadEnded()
        #expect(m.hasStopped)
        #expect(m.lifecycle == .stopped)
        #expect(!m.isConnected)
        let r74 = m.submit(Self.record(1), now: Self.t0)
        #expect(r74 == .dropped(.stopped, report: 1))
    }

    @Test func aWriterStoppedWhileDownTriesOnceMoreThenSpoolsTheRestAndExits() {
        var m = Self.machine()
        _ = m.start()
        _ = m.connectFailed(now: Self.t0)
        _ = m.requestStop(now: Self.t0 + Self.ms)
        // No waiting for the backoff: one last attempt at once.
        let r75 = m.databaseStep(now: Self.t0 + Self.ms, spoolsEmpty: true)
        #expect(r75 == .connect)
        let r76 = m.connectFailed(now: Self.t0 + Self.ms)
        #expect(r76.logOutage == false)
        #expect(m.database == .abandoned)
        // Wait for the encoder; its batches go to the spool meanwhile (the database is down) …
        let r77 = m.databaseStep(now: Self.t0 + Self.ms, spoolsEmpty: true)
        #expect(r77 == .sleep(until: nil))
        let r78 = m.offer(Self.batch(rows: 1))
        #expect(r78 == .spool)
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        _ = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        let r79 = m.encoded()
        #expect(r79)
        let r80 = m.databaseStep(now: Self.t0 + Self.ms, spoolsEmpty: false)
        #expect(r80 == .exit)
    }

    @Test func batchesWaitingForTheFirstConnectionAreSpooledWhenStoppedWithoutOne() {
        var m = Self.machine()
        _ = m.start()
        let waiting = Self.batch(rows: 3)
        let r81 = m.offer(waiting)
        #expect(r81 == .handedOff)
        _ = m.requestStop(now: Self.t0)
        let r82 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r82 == .connect)
        // The attempt fails: what waited goes to the spool with the failure, none is left behind.
        let r83 = m.connectFailed(now: Self.t0)
        #expect(r83 == .init(spool: [waiting], logOutage: true, neverConnected: true))
        #expect(m.handoff.isEmpty)
        #expect(m.database == .abandoned)
        var pairs: [PairRecord] = []
        var labels: [LabelRecord] = []
        _ = m.encoderStep(now: Self.t0, pairs: &pairs, labels: &labels)
        _ = m.encoded()
        let r84 = m.databaseStep(now: Self.t0, spoolsEmpty: true)
        #expect(r84 == .exit)
    }
}
