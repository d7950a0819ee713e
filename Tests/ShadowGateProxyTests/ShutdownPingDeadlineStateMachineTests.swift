import NIOHTTP2
@testable import ShadowGateProxy
import Testing

/// The shutdown PING's deadline in every order: armed once by the PING after a graceful GOAWAY,
/// cancelled only by that PING's acknowledgement or the close.
@Suite("Shutdown PING deadline state machine")
struct ShutdownPingDeadlineStateMachineTests {
    typealias Machine = ShutdownPingDeadlineHandler.StateMachine

    static let gracefulGoAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
    static let finalGoAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: 7, errorCode: .noError, opaqueData: nil))
    static let shutdownPing = HTTP2PingData(withInteger: 0xDEAD)
    static let otherPing = HTTP2PingData(withInteger: 42)

    static func ping(_ data: HTTP2PingData, ack: Bool) -> HTTP2Frame {
        HTTP2Frame(streamID: .rootStream, payload: .ping(data, ack: ack))
    }

    @Test("GOAWAY, PING out: armed; the PING's acknowledgement cancels it; nothing after")
    func acknowledged() {
        var machine = Machine()
        #expect(machine.frameWritten(Self.gracefulGoAway) == .none)
        #expect(machine.frameWritten(Self.ping(Self.shutdownPing, ack: false)) == .armDeadline)
        #expect(machine.isAwaitingAck)
        #expect(machine.frameRead(Self.ping(Self.shutdownPing, ack: true)) == .cancelDeadline)
        #expect(!machine.isAwaitingAck)
        #expect(machine.closed() == .none)
        // Never armed again, whatever goes out later.
        #expect(machine.frameWritten(Self.gracefulGoAway) == .none)
        #expect(machine.frameWritten(Self.ping(Self.shutdownPing, ack: false)) == .none)
    }

    @Test("no acknowledgement: the deadline stays armed until the close cancels it")
    func neverAcknowledged() {
        var machine = Machine()
        _ = machine.frameWritten(Self.gracefulGoAway)
        #expect(machine.frameWritten(Self.ping(Self.shutdownPing, ack: false)) == .armDeadline)
        // Another PING's acknowledgement, an unsolicited PING, a second PING out: still awaited.
        #expect(machine.frameRead(Self.ping(Self.otherPing, ack: true)) == .none)
        #expect(machine.frameRead(Self.ping(Self.shutdownPing, ack: false)) == .none)
        #expect(machine.frameWritten(Self.ping(Self.otherPing, ack: false)) == .none)
        #expect(machine.frameWritten(Self.finalGoAway) == .none)
        #expect(machine.isAwaitingAck)
        #expect(machine.closed() == .cancelDeadline)
        #expect(machine.closed() == .none)
    }

    @Test("keep-alive PINGs and their acknowledgements before any GOAWAY arm nothing; nor does a GOAWAY that is not graceful")
    func notShutdown() {
        var machine = Machine()
        #expect(machine.frameWritten(Self.ping(Self.otherPing, ack: false)) == .none)
        #expect(machine.frameRead(Self.ping(Self.otherPing, ack: true)) == .none)
        #expect(machine.frameWritten(Self.finalGoAway) == .none)
        #expect(machine.frameWritten(Self.ping(Self.shutdownPing, ack: false)) == .none)
        #expect(!machine.isAwaitingAck)
        #expect(machine.closed() == .none)
    }

    @Test("an acknowledgement that comes before the PING went out (a client's own PING) does not count")
    func earlyAcknowledgement() {
        var machine = Machine()
        _ = machine.frameWritten(Self.gracefulGoAway)
        #expect(machine.frameRead(Self.ping(Self.shutdownPing, ack: true)) == .none)
        #expect(machine.frameWritten(Self.ping(Self.shutdownPing, ack: false)) == .armDeadline)
        #expect(machine.isAwaitingAck)
    }

    @Test("closed while serving or going away: nothing to cancel, and nothing armed afterwards")
    func closedEarly() {
        var machine = Machine()
        _ = machine.frameWritten(Self.gracefulGoAway)
        #expect(machine.closed() == .none)
        #expect(machine.frameWritten(Self.ping(Self.shutdownPing, ack: false)) == .none)
    }
}
