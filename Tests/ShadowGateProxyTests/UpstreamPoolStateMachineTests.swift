import NIOCore
@testable import ShadowGateProxy
import Testing

/// The pool's bookkeeping without sockets: leases, waiting room, late connections, backoff and circuit.
@Suite("Upstream pool state machine")
struct UpstreamPoolStateMachineTests {
    final class Conn: PoolConnection {
        var isUsable = true
    }
    final class Waiter: PoolWaiter {
        var isDone = false
    }
    typealias Machine = UpstreamPool.StateMachine<Conn, Waiter>
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func isConnect(_ action: Machine.LeaseAction) -> Bool { if case .connect = action { true } else { false } }
    func isWait(_ action: Machine.LeaseAction) -> Bool { if case .wait = action { true } else { false } }
    func failure(_ action: Machine.LeaseAction) -> UpstreamFailure? { if case .fail(_, let f) = action { f } else { nil } }
    func runsOn(_ action: Machine.LeaseAction) -> Conn? { if case .run(_, let c) = action { c } else { nil } }

    @Test("connect up to the cap, then wait, then saturated; a released connection goes to the first live waiter")
    func leaseWaitSaturate() {
        var machine = Machine(maxConnections: 1, maxWaiting: 2)
        let a = Waiter(), b = Waiter(), c = Waiter(), d = Waiter()
        #expect(isConnect(machine.lease(a, now: t0)))
        #expect(isWait(machine.lease(b, now: t0)))
        #expect(isWait(machine.lease(c, now: t0)))
        #expect(failure(machine.lease(d, now: t0)) == .poolSaturated)
        #expect(machine.isSaturated)
        let conn = Conn()
        let actions = machine.connected(conn, for: a, now: t0)
        guard case .run(let first, let on)? = actions.first else { Issue.record("expected run"); return }
        #expect(first === a && on === conn)
        b.isDone = true  // timed out while waiting: skipped
        guard case .run(let next, _)? = machine.released(conn, reusable: true, now: t0).first else { Issue.record("expected run"); return }
        #expect(next === c)
        guard case .scheduleSweep? = machine.released(conn, reusable: true, now: t0).first else { Issue.record("expected idle"); return }
        #expect(machine.idleCount == 1)
        #expect(runsOn(machine.lease(Waiter(), now: t0)) === conn)
    }

    @Test("no waiting room: the second exchange is refused synchronously")
    func noWaitingRoom() {
        var machine = Machine(maxConnections: 1, maxWaiting: 0)
        #expect(isConnect(machine.lease(Waiter(), now: t0)))
        #expect(failure(machine.lease(Waiter(), now: t0)) == .poolSaturated)
    }

    @Test("three connect failures open the circuit: no connect, no wait, waiters failed; half open lets one probe through")
    func circuitOpensAndProbes() {
        var machine = Machine(maxConnections: 4, maxWaiting: 8)
        for _ in 0..<2 {
            let w = Waiter()
            #expect(isConnect(machine.lease(w, now: t0)))
            _ = machine.connectFailed(for: w, failure: .connectFailed("x"), now: t0, jitter: 0)
        }
        #expect(machine.circuit == .closed(failures: 2))
        let w3 = Waiter()
        #expect(isConnect(machine.lease(w3, now: t0)))
        let actions = machine.connectFailed(for: w3, failure: .connectFailed("x"), now: t0, jitter: 0)
        #expect(actions.count == 1)
        // jitter 0 → half the base backoff.
        #expect(machine.circuit == .open(until: t0 + .milliseconds(50), opens: 1))
        #expect(machine.isCircuitOpen(now: t0 + .milliseconds(49)))
        #expect(failure(machine.lease(Waiter(), now: t0 + .milliseconds(10))) == .circuitOpen)

        let probe = Waiter()
        #expect(isConnect(machine.lease(probe, now: t0 + .milliseconds(50))))
        #expect(machine.circuit == .halfOpen(opens: 1))
        #expect(failure(machine.lease(Waiter(), now: t0 + .milliseconds(51))) == .circuitOpen)
        // The probe fails: open again, with the next backoff (200 ms × 0.5 with jitter 0).
        _ = machine.connectFailed(for: probe, failure: .connectFailed("x"), now: t0 + .milliseconds(60), jitter: 0)
        #expect(machine.circuit == .open(until: t0 + .milliseconds(160), opens: 2))
        let probe2 = Waiter()
        #expect(isConnect(machine.lease(probe2, now: t0 + .milliseconds(200))))
        _ = machine.connected(Conn(), for: probe2, now: t0 + .milliseconds(201))
        #expect(machine.circuit == .closed(failures: 0))
        #expect(!machine.isCircuitOpen(now: t0 + .milliseconds(201)))
    }

    @Test("opening the circuit fails the waiting room at once")
    func openingFailsWaiters() {
        var machine = Machine(maxConnections: 1, maxWaiting: 4)
        let conn = Conn()
        let first = Waiter()
        #expect(isConnect(machine.lease(first, now: t0)))
        _ = machine.connected(conn, for: first, now: t0)
        let waiting = [Waiter(), Waiter()]
        for w in waiting { #expect(isWait(machine.lease(w, now: t0))) }
        _ = machine.exchangeTimedOut(on: conn, now: t0, jitter: 0.5)
        _ = machine.exchangeTimedOut(on: nil, now: t0, jitter: 0.5)  // a waiter's own timeout does not count
        #expect(machine.circuit == .closed(failures: 1))
        _ = machine.exchangeTimedOut(on: conn, now: t0, jitter: 0.5)
        let actions = machine.exchangeTimedOut(on: conn, now: t0, jitter: 0.5)
        let failed = actions.compactMap { action -> UpstreamFailure? in if case .fail(_, let f) = action { f } else { nil } }
        #expect(failed == [.circuitOpen, .circuitOpen])
        #expect(machine.waitingCount == 0)
    }

    @Test("backoff doubles from 100 ms up to 5 s, scaled by jitter into [0.5, 1)")
    func backoff() {
        #expect(Machine.backoff(opens: 1, jitter: 0) == .milliseconds(50))
        #expect(Machine.backoff(opens: 1, jitter: 0.5) == .milliseconds(75))
        #expect(Machine.backoff(opens: 3, jitter: 0) == .milliseconds(200))
        #expect(Machine.backoff(opens: 30, jitter: 0) == .milliseconds(2500))
        #expect(Machine.backoff(opens: 30, jitter: 0.999_999_9) < .seconds(5))
    }

    @Test("a timed-out exchange keeps its connection leased (late); the late answer returns it to service")
    func lateConnectionReused() {
        var machine = Machine(maxConnections: 1, maxWaiting: 0)
        let conn = Conn()
        let w = Waiter()
        #expect(isConnect(machine.lease(w, now: t0)))
        _ = machine.connected(conn, for: w, now: t0)
        w.isDone = true
        _ = machine.exchangeTimedOut(on: conn, now: t0, jitter: 0)
        #expect(machine.lateCount == 1)
        // Still leased: no second connection is opened for the next exchange.
        #expect(failure(machine.lease(Waiter(), now: t0)) == .poolSaturated)
        _ = machine.released(conn, reusable: true, now: t0 + .seconds(1))
        #expect(machine.lateCount == 0)
        #expect(runsOn(machine.lease(Waiter(), now: t0 + .seconds(1))) === conn)
    }

    @Test("the sweep closes idle and late connections past their cutoff; a close frees the slot for a waiter")
    func sweepAndClose() {
        var machine = Machine(maxConnections: 2, maxWaiting: 4)
        let idleConn = Conn(), lateConn = Conn()
        let a = Waiter(), b = Waiter()
        _ = machine.lease(a, now: t0)
        _ = machine.lease(b, now: t0)
        _ = machine.connected(idleConn, for: a, now: t0)
        _ = machine.connected(lateConn, for: b, now: t0)
        _ = machine.released(idleConn, reusable: true, now: t0)
        _ = machine.exchangeTimedOut(on: lateConn, now: t0, jitter: 0)
        let (closing, more) = machine.sweep(idleCutoff: t0, lateCutoff: t0)
        #expect(closing.count == 2 && !more)
        // Both still count as open until their close is reported: a new exchange waits.
        let waiter = Waiter()
        #expect(isWait(machine.lease(waiter, now: t0)))
        guard case .connect(let next)? = machine.closed(idleConn).first else { Issue.record("expected connect"); return }
        #expect(next === waiter)
        #expect(machine.closed(lateConn).isEmpty)
        #expect(machine.openCount == 1)
    }

    @Test("shutdown fails waiters and closes idle connections; later leases fail")
    func shutdown() {
        var machine = Machine(maxConnections: 1, maxWaiting: 2)
        let conn = Conn(), a = Waiter(), b = Waiter()
        _ = machine.lease(a, now: t0)
        #expect(isWait(machine.lease(b, now: t0)))
        _ = machine.connected(conn, for: a, now: t0)
        let actions = machine.shutdown()
        #expect(actions.count == 1)
        #expect(failure(machine.lease(Waiter(), now: t0)) == .shuttingDown)
        #expect(machine.released(conn, reusable: true, now: t0).count == 1)
    }
}
