import ShadowGateControl
import Testing

@Suite struct LeadershipStateMachineTests {
    let t0 = ContinuousClock.now
    func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    @Test func followerTriesAtOnceThenEveryRetryInterval() {
        var m = LeadershipStateMachine(now: at(0))
        #expect(m.next(now: at(0)) == .tryAcquire)
        m.acquired(epoch: nil, sentAt: at(0))
        #expect(m.next(now: at(500)) == .wait(until: at(1000)))
        #expect(m.next(now: at(1000)) == .tryAcquire)
        #expect(m.epoch == nil)
    }

    @Test func leaderActsConfirmsAndKeepsLeadingWhileConfirmed() {
        var m = LeadershipStateMachine(now: at(0))
        _ = m.next(now: at(0))
        m.acquired(epoch: 7, sentAt: at(0))
        #expect(m.next(now: at(400)) == .act(epoch: 7))
        #expect(m.next(now: at(1000)) == .confirm(epoch: 7))
        #expect(m.confirmed(true, sentAt: at(1000)) == nil)
        #expect(m.next(now: at(1500)) == .act(epoch: 7))
        #expect(m.next(now: at(2100)) == .confirm(epoch: 7))
    }

    @Test func leaderStepsDownByItselfWhenItCannotConfirmWithinTheDeadline() {
        var m = LeadershipStateMachine(now: at(0))
        _ = m.next(now: at(0))
        m.acquired(epoch: 3, sentAt: at(0))
        // The confirmation sent at 1 s never came back (cut link); at 3 s the lease counted from 0 is over.
        #expect(m.next(now: at(1000)) == .confirm(epoch: 3))
        #expect(m.next(now: at(2999)) == .confirm(epoch: 3))
        #expect(m.next(now: at(3000)) == .stepDown(epoch: 3, reason: .deadlinePassed))
        #expect(m.epoch == nil)
        #expect(m.next(now: at(3500)) == .wait(until: at(4000)))
    }

    @Test func theLeaseCountsFromWhenTheRequestWasSentNotAnswered() {
        var m = LeadershipStateMachine(now: at(0))
        m.acquired(epoch: 1, sentAt: at(0))
        // The confirmation was sent at 1 s and answered at 2.9 s: the lease runs from 1 s.
        #expect(m.confirmed(true, sentAt: at(1000)) == nil)
        #expect(m.next(now: at(3999)) == .confirm(epoch: 1))
        #expect(m.next(now: at(4000)) == .stepDown(epoch: 1, reason: .deadlinePassed))
    }

    @Test func supersededOrDisconnectedLeaderStepsDownAtOnce() {
        var m = LeadershipStateMachine(now: at(0))
        m.acquired(epoch: 4, sentAt: at(0))
        #expect(m.confirmed(false, sentAt: at(1000)) == .stepDown(epoch: 4, reason: .superseded))
        #expect(m.epoch == nil)
        m.acquired(epoch: 5, sentAt: at(2000))
        #expect(m.connectionLost(now: at(2500)) == .stepDown(epoch: 5, reason: .connectionLost))
        #expect(m.connectionLost(now: at(2600)) == nil)
    }

    @Test func ownDeadlineEndsBeforeAChallengerMayTakeOver() {
        let timing = LeadershipStateMachine.Timing()
        #expect(timing.deadline < timing.staleAfter)
        #expect(timing.confirmEvery < timing.deadline)
    }
}
