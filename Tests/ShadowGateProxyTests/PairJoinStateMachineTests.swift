import NIOCore
import NIOHTTP1
import ShadowGatePairRecord
@testable import ShadowGateProxy
import Testing

/// The pair join in every order: exactly one record, only once both sides are known.
@Suite("Pair join state machine")
struct PairJoinStateMachineTests {
    typealias Machine = PairJoin.StateMachine

    static let ok = UpstreamResult(
        response: UpstreamResponse(head: HTTPResponseHead(version: .http1_1, status: .ok), body: ByteBuffer(string: "{}")),
        failure: nil, latencyMicros: 10)
    static let saturated = UpstreamResult(response: nil, failure: .poolSaturated, latencyMicros: 0)
    static let timedOut = UpstreamResult(response: nil, failure: .timeout, latencyMicros: 300_000)

    func records(_ action: Machine.Action) -> (primary: UpstreamResult, shadow: UpstreamResult?, skip: ShadowSkipReason?)? {
        if case .record(let primary, let shadow, let skip) = action { return (primary, shadow, skip) }
        return nil
    }

    @Test("mirrored, primary first (also: the primary refused synchronously before the shadow starts)",
          arguments: [Self.ok, Self.saturated])
    func primaryFirst(primary: UpstreamResult) {
        var machine = Machine(shadow: .mirrored)
        #expect(records(machine.primaryCompleted(primary)) == nil)
        let recorded = records(machine.shadowCompleted(Self.ok))
        #expect(recorded?.primary.failure == primary.failure)
        #expect(recorded?.shadow?.response != nil)
        #expect(recorded?.skip == nil)
        #expect(machine.isRecorded)
        // Nothing after the record, whatever arrives.
        #expect(records(machine.shadowCompleted(Self.ok)) == nil)
        #expect(records(machine.primaryCompleted(Self.ok)) == nil)
    }

    @Test("mirrored, shadow first (a shadow refused synchronously, or a fast learner)", arguments: [Self.ok, Self.saturated, Self.timedOut])
    func shadowFirst(shadow: UpstreamResult) {
        var machine = Machine(shadow: .mirrored)
        #expect(records(machine.shadowCompleted(shadow)) == nil)
        let recorded = records(machine.primaryCompleted(Self.ok))
        #expect(recorded?.shadow?.failure == shadow.failure)
        #expect(records(machine.primaryCompleted(Self.ok)) == nil)
    }

    @Test("skipped shadow: the primary alone records, with the reason; a stray shadow result is ignored",
          arguments: ShadowSkipReason.allCases)
    func skipped(reason: ShadowSkipReason) {
        var machine = Machine(shadow: .skipped(reason))
        #expect(records(machine.shadowCompleted(Self.ok)) == nil)
        let recorded = records(machine.primaryCompleted(Self.saturated))
        #expect(recorded?.skip == reason)
        #expect(recorded?.shadow == nil)
        #expect(records(machine.primaryCompleted(Self.saturated)) == nil)
    }

    @Test("a side reported twice before the other does not record early")
    func duplicateBeforeOther() {
        var machine = Machine(shadow: .mirrored)
        #expect(records(machine.primaryCompleted(Self.ok)) == nil)
        #expect(records(machine.primaryCompleted(Self.saturated)) == nil)
        #expect(!machine.isRecorded)
        let recorded = records(machine.shadowCompleted(Self.timedOut))
        #expect(recorded?.primary.response != nil)
        #expect(recorded?.shadow?.failure == .timeout)
    }
}
