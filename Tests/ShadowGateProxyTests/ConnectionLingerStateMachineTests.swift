import NIOCore
@testable import ShadowGateProxy
import Testing

/// The lingering close as the connection's state machine sees it, without sockets: the last answer
/// is flushed (`closing`), the write side is shut (`lingering`), and the client's EOF, the linger
/// timeout, the byte cap or a shutdown ends it, in whatever order they come.
@Suite("Client connection state machine: lingering close")
struct ConnectionLingerStateMachineTests {
    typealias Machine = GatewayConnectionHandler.StateMachine<String>
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let timeouts = Machine.Timeouts(header: .milliseconds(100), body: .milliseconds(200), idle: .milliseconds(1000))
    let linger = Machine.Linger(timeout: .seconds(2), maxBytes: 1 << 20)

    func answered(_ action: Machine.Action) -> (String, Bool)? {
        if case .answer(let item, let close) = action { return (item, close) }
        return nil
    }

    func isNone(_ action: Machine.Action) -> Bool {
        if case .none = action { return true }
        return false
    }

    func isClose(_ action: Machine.Action) -> Bool {
        if case .close = action { return true }
        return false
    }

    /// A machine whose 413 was answered and written (not yet flushed): `closing`.
    func refusedAndWritten() -> Machine {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, linger: linger, now: t0)
        _ = machine.bytesReceived(now: t0)
        _ = machine.headReceived(now: t0)
        #expect(answered(machine.refuse("413"))?.1 == true)
        let (action, _) = machine.answerWritten(keptOpen: false, now: t0)
        #expect(isNone(action))
        #expect(machine.phase == .closing)
        return machine
    }

    /// A machine lingering since `t0 + 10 ms`.
    func lingering() -> Machine {
        var machine = refusedAndWritten()
        guard case .closeOutput(let until) = machine.lastAnswerFlushed(now: t0 + .milliseconds(10)) else {
            Issue.record("expected closeOutput")
            return machine
        }
        #expect(until == t0 + .milliseconds(10) + .seconds(2))
        #expect(machine.phase == .lingering)
        return machine
    }

    @Test("closing and lingering: input is dropped, nothing is answered again, no timeout but the linger's")
    func nothingAnsweredWhileLingering() {
        var machine = refusedAndWritten()
        #expect(machine.discardsInput)
        #expect(machine.deadline == nil)
        #expect(isNone(machine.bytesReceived(now: t0)))
        #expect(isNone(machine.headReceived(now: t0)))
        #expect(answered(machine.requestReceived("pipelined", now: t0)) == nil)
        #expect(answered(machine.refuse("400")) == nil)
        // Bytes during the flush are dropped but not counted against the cap (lingering has not begun).
        #expect(isNone(machine.bytesDiscarded(2 << 20)))
        machine = lingering()
        #expect(machine.discardsInput)
        #expect(machine.deadline == t0 + .milliseconds(10) + .seconds(2))
        #expect(answered(machine.requestReceived("pipelined", now: t0)) == nil)
        #expect(answered(machine.refuse("400")) == nil)
        #expect(isNone(machine.bytesReceived(now: t0)))
        #expect(machine.phase == .lingering)
    }

    @Test("EOF first: the channel closes, and a later timer or byte does nothing")
    func eofFirst() {
        var machine = lingering()
        #expect(isNone(machine.bytesDiscarded(1000)))
        machine.closed()
        #expect(machine.phase == .closed)
        #expect(!machine.discardsInput)
        #expect(isNone(machine.timerFired(now: t0 + .seconds(5))))
        #expect(isNone(machine.bytesDiscarded(2 << 20)))
        #expect(isNone(machine.quiesce()))
    }

    @Test("timeout first: an early timer re-arms within the linger, the deadline closes")
    func timeoutFirst() throws {
        var machine = lingering()
        let deadline = try #require(machine.deadline)
        // The timer the handler armed for an earlier deadline fires first: it re-arms, no later than the linger's end.
        guard case .armTimer(let at) = machine.timerFired(now: t0 + .milliseconds(500)) else {
            Issue.record("expected armTimer")
            return
        }
        #expect(at > t0 + .milliseconds(500) && at <= deadline)
        #expect(isNone(machine.bytesDiscarded(10)))
        #expect(isClose(machine.timerFired(now: deadline)))
        #expect(machine.phase == .closed)
        #expect(isNone(machine.bytesDiscarded(10)))
        machine.closed()
        #expect(machine.phase == .closed)
    }

    @Test("byte cap first: more than maxBytes dropped closes; exactly maxBytes does not")
    func capFirst() {
        var machine = lingering()
        #expect(isNone(machine.bytesDiscarded(600_000)))
        #expect(isNone(machine.bytesDiscarded((1 << 20) - 600_000)))
        #expect(machine.phase == .lingering)
        #expect(isClose(machine.bytesDiscarded(1)))
        #expect(machine.phase == .closed)
        #expect(machine.deadline == nil)
        #expect(isNone(machine.timerFired(now: t0 + .seconds(5))))
    }

    @Test("shutdown while lingering closes at once; while the last answer is flushed, it closes once flushed (no linger)")
    func quiesceEndsLinger() {
        var lingeringMachine = lingering()
        #expect(isClose(lingeringMachine.quiesce()))
        #expect(lingeringMachine.phase == .closed)
        #expect(isNone(lingeringMachine.timerFired(now: t0 + .seconds(5))))

        var flushing = refusedAndWritten()
        #expect(isNone(flushing.quiesce()))
        #expect(flushing.phase == .closing)
        #expect(isClose(flushing.lastAnswerFlushed(now: t0)))
        #expect(flushing.phase == .closed)
    }

    @Test("an answer that closes a quiescing connection closes without lingering")
    func quiescingAnswerDoesNotLinger() {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, linger: linger, now: t0)
        _ = machine.requestReceived("A", now: t0)
        #expect(isNone(machine.quiesce()))
        #expect(!machine.keepsOpen(requestKeepAlive: true))
        _ = machine.answerWritten(keptOpen: false, now: t0)
        #expect(machine.phase == .closed)
        #expect(isNone(machine.lastAnswerFlushed(now: t0)))
    }

    @Test("a `connection: close` answer (no refusal) lingers too; pipelined requests behind it are dropped")
    func closingAnswerLingers() {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, linger: linger, now: t0)
        #expect(answered(machine.requestReceived("A", now: t0))?.0 == "A")
        _ = machine.bytesReceived(now: t0)
        _ = machine.answerWritten(keptOpen: false, now: t0)
        #expect(machine.phase == .closing)
        #expect(machine.queuedCount == 0)
        guard case .closeOutput = machine.lastAnswerFlushed(now: t0) else {
            Issue.record("expected closeOutput")
            return
        }
        #expect(answered(machine.requestReceived("B", now: t0)) == nil)
        #expect(machine.phase == .lingering)
    }

    @Test("without a linger configuration (h2 streams) the last answer closes as before")
    func noLingerConfigured() {
        var machine = Machine(timeouts: timeouts, maxQueued: 4, now: t0)
        _ = machine.refuse("413")
        _ = machine.answerWritten(keptOpen: false, now: t0)
        #expect(machine.phase == .closed)
        #expect(!machine.discardsInput)
        #expect(isNone(machine.lastAnswerFlushed(now: t0)))
    }
}
