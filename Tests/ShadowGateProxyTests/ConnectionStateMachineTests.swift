import NIOCore
@testable import ShadowGateProxy
import Testing

/// The client connection's lifetime without sockets: reading, queued, answering, quiescing, closed, and its timeouts.
@Suite("Client connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = GatewayConnectionHandler.StateMachine<String>
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let timeouts = Machine.Timeouts(header: .milliseconds(100), body: .milliseconds(200), idle: .milliseconds(1000))

    func answered(_ action: Machine.Action) -> (String, Bool)? {
        if case .answer(let item, let close) = action { return (item, close) }
        return nil
    }

    @Test("a request is answered at once; the next waits (queued) and is answered after the first is written")
    func pipelinedOrder() {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        #expect(machine.phase == .reading)
        _ = machine.bytesReceived(now: t0)
        _ = machine.headReceived(now: t0)
        #expect(answered(machine.requestReceived("A", now: t0))?.0 == "A")
        #expect(machine.phase == .answering)
        _ = machine.bytesReceived(now: t0)
        _ = machine.headReceived(now: t0)
        #expect(answered(machine.requestReceived("B", now: t0)) == nil)
        #expect(machine.phase == .queued)
        #expect(machine.keepsOpen(requestKeepAlive: true))
        let (next, _) = machine.answerWritten(keptOpen: true, now: t0)
        #expect(answered(next)?.0 == "B")
        let (after, _) = machine.answerWritten(keptOpen: true, now: t0)
        // Nothing left: the idle deadline runs (the timer is already armed from the start, so no new arm).
        if case .none = after {} else { Issue.record("expected none, got \(after)") }
        #expect(machine.deadline == t0 + .milliseconds(1000))
        #expect(machine.phase == .reading)
    }

    @Test("idle: the timer closes a connection with nothing in progress; a moved deadline re-arms instead")
    func idleTimeout() throws {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        _ = machine.bytesReceived(now: t0 + .milliseconds(10))
        _ = machine.headReceived(now: t0 + .milliseconds(20))
        _ = machine.requestReceived("A", now: t0 + .milliseconds(30))
        _ = machine.answerWritten(keptOpen: true, now: t0 + .milliseconds(500))
        // The timer ticks at most the shortest timeout apart; it closes at the idle deadline (1.5 s), not before.
        var now = try #require(machine.initialTimer)
        #expect(now == t0 + .milliseconds(100))
        var fired = 0
        while true {
            fired += 1
            let action = machine.timerFired(now: now)
            if case .armTimer(let at) = action {
                #expect(at > now && at <= now + .milliseconds(100))
                now = at
                continue
            }
            guard case .close = action else { Issue.record("expected close, got \(action)"); return }
            break
        }
        #expect(now == t0 + .milliseconds(1500))
        #expect(fired < 20)
        #expect(machine.phase == .closed)
    }

    @Test("header and body timeouts ask for a 408; the refusal is the last answer and closes", arguments: [false, true])
    func readTimeouts(headArrived: Bool) {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        _ = machine.bytesReceived(now: t0)
        if headArrived { _ = machine.headReceived(now: t0) }
        let expected: Machine.Timeout = headArrived ? .body : .header
        let deadline = t0 + (headArrived ? .milliseconds(200) : .milliseconds(100))
        #expect(machine.deadline == deadline)
        // The first timer (armed for the idle deadline at 1 s) would be late; the handler re-arms on each fire.
        guard case .refuseTimedOut(let kind) = machine.timerFired(now: deadline) else { Issue.record("expected 408"); return }
        #expect(kind == expected)
        let (refusal, close) = answered(machine.refuse("408")) ?? ("", false)
        #expect(refusal == "408" && close)
        #expect(!machine.keepsOpen(requestKeepAlive: true))
        // Input after the refusal is dropped.
        #expect(answered(machine.requestReceived("late", now: deadline)) == nil)
        _ = machine.answerWritten(keptOpen: false, now: deadline)
        #expect(machine.phase == .closed)
    }

    @Test("no client deadline while a request is being answered with nothing more being read")
    func noDeadlineWhileAnswering() {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        _ = machine.bytesReceived(now: t0)
        _ = machine.headReceived(now: t0)
        _ = machine.requestReceived("A", now: t0)
        #expect(machine.deadline == nil)
        if case .none = machine.timerFired(now: t0 + .seconds(100)) {} else { Issue.record("expected none") }
        #expect(machine.phase == .answering)
    }

    @Test("a refusal while a request is answered: the request's answer keeps the connection, the refusal closes it")
    func refusalAfterQueued() {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        _ = machine.requestReceived("A", now: t0)
        #expect(answered(machine.refuse("413")) == nil)
        #expect(machine.keepsOpen(requestKeepAlive: true))
        let (next, _) = machine.answerWritten(keptOpen: true, now: t0)
        #expect(answered(next)?.0 == "413")
        #expect(answered(next)?.1 == true)
        #expect(!machine.keepsOpen(requestKeepAlive: true))
    }

    @Test("quiescing: idle closes at once; busy finishes the queue, then the last answer closes")
    func quiescing() {
        var idle = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        guard case .close = idle.quiesce() else { Issue.record("expected close"); return }
        #expect(idle.phase == .closed)

        var busy = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        _ = busy.requestReceived("A", now: t0)
        _ = busy.requestReceived("B", now: t0)
        if case .none = busy.quiesce() {} else { Issue.record("expected none") }
        #expect(busy.phase == .quiescing)
        #expect(busy.keepsOpen(requestKeepAlive: true))
        let (next, _) = busy.answerWritten(keptOpen: true, now: t0)
        #expect(answered(next)?.0 == "B")
        #expect(!busy.keepsOpen(requestKeepAlive: true))
        _ = busy.answerWritten(keptOpen: false, now: t0)
        #expect(busy.phase == .closed)
    }

    @Test("reads are held at maxQueued and resumed when the queue drains below it")
    func backpressure() {
        var machine = Machine(timeouts: timeouts, maxQueued: 2, now: t0)
        _ = machine.requestReceived("A", now: t0)
        _ = machine.requestReceived("B", now: t0)
        let readWithTwo = machine.readRequested()
        #expect(readWithTwo)
        _ = machine.requestReceived("C", now: t0)
        let readWithThree = machine.readRequested()
        #expect(!readWithThree)
        let (_, readAgain) = machine.answerWritten(keptOpen: true, now: t0)
        #expect(readAgain)
    }

    @Test("a closed machine does nothing")
    func closed() {
        var machine = Machine(timeouts: timeouts, maxQueued: 2, now: t0)
        machine.closed()
        #expect(answered(machine.requestReceived("A", now: t0)) == nil)
        if case .none = machine.timerFired(now: t0 + .seconds(10)) {} else { Issue.record("expected none") }
        if case .none = machine.quiesce() {} else { Issue.record("expected none") }
        #expect(machine.phase == .closed)
    }
}
