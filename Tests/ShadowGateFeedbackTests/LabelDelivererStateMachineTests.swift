@testable import ShadowGateFeedback
import Testing

/// Every transition of the deliverer's loop, without sockets or a database: events in, the next
/// action out, on a clock the test moves.
@Suite struct LabelDelivererStateMachineTests {
    typealias Machine = LabelDeliverer.StateMachine
    let t0 = ContinuousClock.now

    func machine(batchSize: Int = 2, maxWait: Duration = .milliseconds(100), scanLimit: Int = 10) -> Machine {
        Machine(settings: .init(batchSize: batchSize, maxWait: maxWait, scanLimit: scanLimit,
                                learnerPaths: ["a": "/fa", "b": "/fb"], retryInitial: .milliseconds(100), retryMax: .seconds(1),
                                jitter: 0))
    }

    func row(_ seq: Int64, route: String? = "a", age: Double = 1) -> LabelDeliveryRow {
        LabelDeliveryRow(seq: seq, txid: "900", requestID: "r\(seq)", rowIndex: 0, route: route,
                         skipReason: route == nil ? "no_prediction" : nil, ageSeconds: age, delaySeconds: 0.5,
                         item: route == nil ? nil : #"{"k":\#(seq)}"#)
    }

    /// A machine that leads with its cursor at (900, 0) and has run its first chores.
    func leader(_ m: inout Machine) {
        #expect(m.next(now: t0) == .connect)
        m.connected()
        #expect(m.next(now: t0) == .tryLock)
        m.lockAnswered(true, now: t0)
        #expect(m.next(now: t0) == .takeOver)
        m.tookOver(.init(txid: "900", seq: 0), now: t0)
        #expect(m.next(now: t0) == .readWaiting(limit: m.settings.scanLimit))
        m.waitingRead([], now: t0)
        #expect(m.next(now: t0) == .chore(.giveUp))
        #expect(m.next(now: t0) == .chore(.gauges))
        #expect(m.next(now: t0) == .chore(.retention))
    }

    func post(_ action: Machine.Action) -> (Int, DeliveryPlan.Post)? {
        if case .post(let i, let p) = action { return (i, p) }
        return nil
    }

    @Test func leadershipConnectLockTakeOverAndLosingTheDatabase() {
        var m = machine()
        #expect(m.role == .disconnected)
        #expect(m.next(now: t0) == .connect)
        m.connected()
        #expect(m.role == .follower && m.next(now: t0) == .tryLock)
        // Another replica holds the lock: try again a second later, sleeping until then.
        m.lockAnswered(false, now: t0)
        #expect(m.next(now: t0 + .milliseconds(500)) == .sleep(until: t0 + .seconds(1)))
        #expect(m.next(now: t0 + .seconds(1)) == .tryLock)
        m.lockAnswered(true, now: t0 + .seconds(1))
        #expect(m.role == .leader && m.next(now: t0 + .seconds(1)) == .takeOver)
        m.tookOver(.init(txid: "7", seq: 3), now: t0 + .seconds(1))
        #expect(m.cursor == .init(txid: "7", seq: 3))
        // The database goes: no leadership, no cursor, reconnect after the connect backoff.
        m.databaseFailed(now: t0 + .seconds(2))
        #expect(m.role == .disconnected && m.cursor == nil)
        guard case .sleep(let until) = m.next(now: t0 + .seconds(2)) else { Issue.record("expected a sleep"); return }
        #expect(until > t0 + .seconds(2) && until <= t0 + .seconds(2) + .milliseconds(250))
        #expect(m.next(now: until) == .connect)
    }

    @Test func aFullScanIsPostedThenRecordedAndTheCursorMoves() {
        var m = machine(scanLimit: 4)
        leader(&m)
        #expect(m.next(now: t0) == .read(after: .init(txid: "900", seq: 0), limit: 4))
        m.rowsRead([row(1), row(2, route: "b"), row(3), row(4, route: nil)], now: t0)
        let first = post(m.next(now: t0))
        #expect(first?.0 == 0 && first?.1.route == "a" && first?.1.keys.map(\.seq) == [1, 3])
        m.postAnswered(0, .accepted, now: t0)
        let second = post(m.next(now: t0))
        #expect(second?.0 == 1 && second?.1.route == "b")
        m.postAnswered(1, .refused, now: t0)
        guard case .record(let step) = m.next(now: t0) else { Issue.record("expected the record"); return }
        #expect(step.cursor == .init(txid: "900", seq: 4))
        #expect(step.delivered == ["a": 2] && step.rejected == ["b": 1] && step.retried == [:])
        #expect(step.waiting.map(\.seq) == [4] && Set(step.done.map(\.seq)) == [1, 2, 3])
        #expect(step.lastSeq == ["a": 3, "b": 2])
        #expect(m.cursor == .init(txid: "900", seq: 0))
        m.recorded(now: t0)
        #expect(m.cursor == .init(txid: "900", seq: 4))
        // A full scan: read again at once.
        #expect(m.next(now: t0) == .read(after: .init(txid: "900", seq: 4), limit: 4))
    }

    @Test func aFailingRouteBacksOffAloneWhileTheOtherRoutesPostsGoAhead() {
        var m = machine(batchSize: 1)
        leader(&m)
        _ = m.next(now: t0)
        m.rowsRead([row(1), row(2), row(3, route: "b"), row(4, route: "b")], now: t0)
        // Posts: 0 a(1), 1 a(2), 2 b(3), 3 b(4).
        #expect(post(m.next(now: t0))?.0 == 0)
        m.postAnswered(0, .failed("HTTP 503"), now: t0)
        #expect(m.failures(of: "a") == 1)
        // Route a waits 100 ms; a's next post may not overtake its failed one; b goes ahead.
        #expect(post(m.next(now: t0))?.0 == 2)
        m.postAnswered(2, .accepted, now: t0)
        #expect(post(m.next(now: t0))?.0 == 3)
        m.postAnswered(3, .accepted, now: t0)
        #expect(m.next(now: t0 + .milliseconds(10)) == .sleep(until: t0 + .milliseconds(100)))
        // Retry: fails again, the backoff doubles.
        #expect(post(m.next(now: t0 + .milliseconds(100)))?.0 == 0)
        m.postAnswered(0, .failed("refused"), now: t0 + .milliseconds(100))
        #expect(m.failures(of: "a") == 2)
        #expect(m.next(now: t0 + .milliseconds(150)) == .sleep(until: t0 + .milliseconds(300)))
        // Back: a's posts in order, then the record with the retries counted per label.
        #expect(post(m.next(now: t0 + .milliseconds(300)))?.0 == 0)
        m.postAnswered(0, .accepted, now: t0 + .milliseconds(300))
        #expect(m.failures(of: "a") == 0)
        #expect(post(m.next(now: t0 + .milliseconds(300)))?.0 == 1)
        m.postAnswered(1, .accepted, now: t0 + .milliseconds(300))
        guard case .record(let step) = m.next(now: t0 + .milliseconds(300)) else { Issue.record("expected the record"); return }
        #expect(step.delivered == ["a": 2, "b": 2] && step.retried == ["a": 2])
        // A second answer to an answered post changes nothing.
        m.postAnswered(1, .failed("late"), now: t0 + .milliseconds(300))
        #expect(m.failures(of: "a") == 0)
    }

    @Test func aPartialScanWaitsAtMostMaxWaitToFill() {
        var m = machine(batchSize: 5, maxWait: .milliseconds(100))
        leader(&m)
        _ = m.next(now: t0)
        m.rowsRead([row(1, age: 0.01)], now: t0)
        // Too few and young: pause, then read again.
        #expect(m.next(now: t0) == .sleep(until: t0 + .milliseconds(25)))
        #expect(m.next(now: t0 + .milliseconds(25)) == .read(after: .init(txid: "900", seq: 0), limit: 10))
        m.rowsRead([row(1, age: 0.035), row(2, age: 0.01)], now: t0 + .milliseconds(25))
        #expect(m.next(now: t0 + .milliseconds(30)) == .sleep(until: t0 + .milliseconds(50)))
        // max_wait after the first partial scan: post what there is.
        _ = m.next(now: t0 + .milliseconds(100))
        m.rowsRead([row(1, age: 0.11), row(2, age: 0.085)], now: t0 + .milliseconds(100))
        #expect(post(m.next(now: t0 + .milliseconds(100)))?.1.keys.count == 2)
    }

    @Test func anOldLabelIsPostedWithoutWaitingAndAnEmptyScanPauses() {
        var m = machine(batchSize: 5, maxWait: .milliseconds(100))
        leader(&m)
        _ = m.next(now: t0)
        m.rowsRead([], now: t0)
        #expect(m.next(now: t0) == .sleep(until: t0 + .milliseconds(25)))
        _ = m.next(now: t0 + .milliseconds(25))
        m.rowsRead([row(1, age: 0.5)], now: t0 + .milliseconds(25))
        #expect(post(m.next(now: t0 + .milliseconds(25)))?.0 == 0)
    }

    @Test func choresComeDueWhenNoPlanIsInFlightAndWaitingLabelsDoNotMoveTheCursor() {
        var m = machine()
        leader(&m)
        _ = m.next(now: t0)
        m.rowsRead([row(1), row(2)], now: t0)
        // A plan in flight goes first even when chores are due.
        #expect(post(m.next(now: t0 + .seconds(1))) != nil)
        m.postAnswered(0, .accepted, now: t0 + .seconds(1))
        guard case .record = m.next(now: t0 + .seconds(1)) else { Issue.record("expected the record"); return }
        m.recorded(now: t0 + .seconds(1))
        #expect(m.next(now: t0 + .seconds(1)) == .readWaiting(limit: 10))
        m.waitingRead([row(7)], now: t0 + .seconds(1))
        #expect(post(m.next(now: t0 + .seconds(1)))?.1.keys.map(\.seq) == [7])
        m.postAnswered(0, .accepted, now: t0 + .seconds(1))
        guard case .record(let step) = m.next(now: t0 + .seconds(1)) else { Issue.record("expected the record"); return }
        #expect(step.cursor == nil)
        m.recorded(now: t0 + .seconds(1))
        #expect(m.cursor == .init(txid: "900", seq: 2))
        #expect(m.next(now: t0 + .seconds(1)) == .chore(.giveUp))
        #expect(m.next(now: t0 + .seconds(1)) == .read(after: .init(txid: "900", seq: 2), limit: 10))
        #expect(m.next(now: t0 + .seconds(2)) == .readWaiting(limit: 10))
    }
}

/// Progress per route: a learner that keeps failing has its labels parked so the cursor and the
/// other routes go on; they are sent in order once it answers again.
@Suite struct LabelDelivererParkingTests {
    typealias Machine = LabelDeliverer.StateMachine
    let base = LabelDelivererStateMachineTests()
    var t0: ContinuousClock.Instant { base.t0 }

    func post(_ action: Machine.Action) -> (Int, DeliveryPlan.Post)? { base.post(action) }

    @Test func aRouteFailingThreeTimesIsParkedAndTheOthersGoOnThenItCatchesUpInOrder() {
        var m = base.machine(batchSize: 1)
        base.leader(&m)
        _ = m.next(now: t0)
        m.rowsRead([base.row(1), base.row(2, route: "b"), base.row(3), base.row(4, route: "b")], now: t0)
        // Posts: 0 a(1), 1 b(2), 2 a(3), 3 b(4). a fails; b goes ahead.
        #expect(post(m.next(now: t0))?.0 == 0)
        m.postAnswered(0, .failed("refused"), now: t0)
        #expect(post(m.next(now: t0))?.0 == 1)
        m.postAnswered(1, .accepted, now: t0)
        #expect(post(m.next(now: t0))?.0 == 3)
        m.postAnswered(3, .accepted, now: t0)
        #expect(post(m.next(now: t0 + .milliseconds(100)))?.0 == 0)
        m.postAnswered(0, .failed("refused"), now: t0 + .milliseconds(100))
        #expect(m.parkedRoutes.isEmpty)
        #expect(post(m.next(now: t0 + .milliseconds(300)))?.0 == 0)
        m.postAnswered(0, .failed("refused"), now: t0 + .milliseconds(300))
        // The third failure parks a's labels of the plan: the plan is recorded without them.
        #expect(m.parkedRoutes == ["a"])
        guard case .record(let step) = m.next(now: t0 + .milliseconds(300)) else { Issue.record("expected the record"); return }
        #expect(step.cursor == .init(txid: "900", seq: 4))
        #expect(step.parked.map(\.key.seq) == [1, 3] && step.parked.allSatisfy { $0.route == "a" && $0.txid == "900" })
        #expect(step.delivered == ["b": 2] && step.retried == ["a": 3] && step.unparked.isEmpty)
        m.recorded(now: t0 + .milliseconds(300))

        // The next scan goes on while a backs off; a's new label queues behind its parked ones.
        #expect(m.next(now: t0 + .milliseconds(300)) == .read(after: .init(txid: "900", seq: 4), limit: 10))
        m.rowsRead([base.row(5), base.row(6, route: "b")], now: t0 + .milliseconds(300))
        #expect(post(m.next(now: t0 + .milliseconds(300)))?.1.route == "b")
        m.postAnswered(1, .accepted, now: t0 + .milliseconds(300))
        guard case .record(let second) = m.next(now: t0 + .milliseconds(300)) else { Issue.record("expected the record"); return }
        #expect(second.cursor == .init(txid: "900", seq: 6) && second.parked.map(\.key.seq) == [5] && second.delivered == ["b": 1])
        m.recorded(now: t0 + .milliseconds(300))

        // Before a's backoff (400 ms after the third failure) only scans run.
        #expect(m.next(now: t0 + .milliseconds(400)) == .read(after: .init(txid: "900", seq: 6), limit: 10))
        m.rowsRead([], now: t0 + .milliseconds(400))
        // Its backoff passed: a parked read; it fails at once and ends, the labels stay parked.
        #expect(m.next(now: t0 + .milliseconds(700)) == .readParked(route: "a", limit: 10))
        m.parkedRead([base.row(1), base.row(3), base.row(5)], route: "a", now: t0 + .milliseconds(700))
        #expect(post(m.next(now: t0 + .milliseconds(700)))?.0 == 0)
        m.postAnswered(0, .failed("refused"), now: t0 + .milliseconds(700))
        guard case .record(let failed) = m.next(now: t0 + .milliseconds(700)) else { Issue.record("expected the record"); return }
        #expect(failed.cursor == nil && failed.unparked.isEmpty && failed.parked.isEmpty && failed.retried == ["a": 1])
        m.recorded(now: t0 + .milliseconds(700))
        #expect(m.parkedRoutes == ["a"])

        // Scans and parked reads take turns; a answers again: its labels go in order and unpark.
        #expect(m.next(now: t0 + .milliseconds(700)) == .read(after: .init(txid: "900", seq: 6), limit: 10))
        m.rowsRead([], now: t0 + .milliseconds(700))
        #expect(m.next(now: t0 + .milliseconds(1600)) == .readWaiting(limit: 10))   // chores first
        m.waitingRead([], now: t0 + .milliseconds(1600))
        #expect(m.next(now: t0 + .milliseconds(1600)) == .chore(.giveUp))
        #expect(m.next(now: t0 + .milliseconds(1600)) == .readParked(route: "a", limit: 10))
        m.parkedRead([base.row(1), base.row(3), base.row(5)], route: "a", now: t0 + .milliseconds(1600))
        var sent: [Int64] = []
        while let (i, p) = post(m.next(now: t0 + .milliseconds(1600))) {
            sent += p.keys.map(\.seq)
            m.postAnswered(i, .accepted, now: t0 + .milliseconds(1600))
        }
        #expect(sent == [1, 3, 5])
        guard case .record(let caughtUp) = m.next(now: t0 + .milliseconds(1600)) else { Issue.record("expected the record"); return }
        #expect(caughtUp.unparked == [1, 3, 5] && caughtUp.delivered == ["a": 3] && caughtUp.cursor == nil)
        m.recorded(now: t0 + .milliseconds(1600))
        // All of them were read and delivered: a is delivered directly again.
        #expect(m.parkedRoutes.isEmpty)
    }

    @Test func parkedRoutesComeFromTheTakeOverAndAParkedReadOfNoneUnparks() {
        var m = base.machine()
        #expect(m.next(now: t0) == .connect)
        m.connected()
        #expect(m.next(now: t0) == .tryLock)
        m.lockAnswered(true, now: t0)
        #expect(m.next(now: t0) == .takeOver)
        m.tookOver(.init(txid: "900", seq: 0), parkedRoutes: ["b"], now: t0)
        #expect(m.next(now: t0) == .readWaiting(limit: 10))
        m.waitingRead([], now: t0)
        for _ in 0..<3 { _ = m.next(now: t0) }   // the chores
        // b has no backoff in this session: its parked labels are tried first, then a scan.
        #expect(m.next(now: t0) == .readParked(route: "b", limit: 10))
        m.parkedRead([], route: "b", now: t0)
        #expect(m.parkedRoutes.isEmpty)
        #expect(m.next(now: t0) == .read(after: .init(txid: "900", seq: 0), limit: 10))
        // A skipped or replaced parked label is unparked without a POST.
        m.rowsRead([], now: t0)
        m.tookOver(.init(txid: "900", seq: 0), parkedRoutes: ["a"], now: t0)
        #expect(m.next(now: t0) == .readWaiting(limit: 10))
        m.waitingRead([], now: t0)
        for _ in 0..<3 { _ = m.next(now: t0) }
        #expect(m.next(now: t0) == .readParked(route: "a", limit: 10))
        let replaced = LabelDeliveryRow(seq: 9, txid: "900", requestID: "r9", rowIndex: 0, route: "a", skipReason: "replaced",
                                        ageSeconds: 0, delaySeconds: nil, item: nil)
        m.parkedRead([replaced], route: "a", now: t0)
        guard case .record(let step) = m.next(now: t0) else { Issue.record("expected the record"); return }
        #expect(step.unparked == [9] && step.skipped == ["replaced": 1])
        m.recorded(now: t0)
        #expect(m.parkedRoutes.isEmpty)
    }
}
