/// When a replica may act as the leader of a role, as events arrive (no sockets, no clock of its own).
///
/// Promises (the executor, ``Leadership``, feeds it and does what it says):
/// - A follower tries to acquire every `retryEvery`.
/// - A leader confirms every `confirmEvery`; it may act only while its last confirmation is less
///   than `deadline` old. Past the deadline it steps down by itself, whatever the database says —
///   so a leader cut off from PostgreSQL stops acting before a challenger may take over
///   (challengers wait for a silence longer than the deadline, see `acquire_leadership`).
/// - A refused confirmation (a newer epoch exists) or a lost connection ends leadership at once.
public struct LeadershipStateMachine: Sendable, Equatable {
    public typealias Instant = ContinuousClock.Instant

    public struct Timing: Sendable, Equatable {
        public var retryEvery: Duration = .seconds(1)
        public var confirmEvery: Duration = .seconds(1)
        /// Longest a leader acts without a confirmation; must stay below the challengers' staleness limit.
        public var deadline: Duration = .seconds(3)
        /// How long the holder's heartbeat must be silent before a challenger ends its session.
        public var staleAfter: Duration = .seconds(5)
        public init() {}
    }

    public enum State: Sendable, Equatable {
        case follower(nextAttempt: Instant)
        case leader(epoch: Int64, confirmedAt: Instant)
    }

    public enum Action: Sendable, Equatable {
        /// Nothing to do until `until`.
        case wait(until: Instant)
        case tryAcquire
        case confirm(epoch: Int64)
        /// Leading: evaluate and write with this epoch.
        case act(epoch: Int64)
        /// Stop acting and drop the session (which releases the lock); then follow.
        case stepDown(epoch: Int64, reason: StepDownReason)
    }

    public enum StepDownReason: String, Sendable, Equatable {
        case deadlinePassed = "could not confirm leadership within its deadline"
        case superseded = "another replica holds a newer epoch"
        case connectionLost = "lost its PostgreSQL session"
    }

    public let timing: Timing
    public private(set) var state: State

    public init(timing: Timing = Timing(), now: Instant) {
        self.timing = timing
        self.state = .follower(nextAttempt: now)
    }

    public var epoch: Int64? {
        if case .leader(let epoch, _) = state { return epoch }
        return nil
    }

    /// What to do at `now`.
    public mutating func next(now: Instant) -> Action {
        switch state {
        case .follower(let nextAttempt):
            return now >= nextAttempt ? .tryAcquire : .wait(until: nextAttempt)
        case .leader(let epoch, let confirmedAt):
            if now - confirmedAt >= timing.deadline {
                state = .follower(nextAttempt: now + timing.retryEvery)
                return .stepDown(epoch: epoch, reason: .deadlinePassed)
            }
            if now - confirmedAt >= timing.confirmEvery { return .confirm(epoch: epoch) }
            return .act(epoch: epoch)
        }
    }

    /// The acquisition attempt returned: `epoch` when this replica now leads, `nil` when another does.
    /// `sentAt` is when the attempt was sent (the lease counts from then, not from the answer).
    public mutating func acquired(epoch: Int64?, sentAt: Instant) {
        if let epoch {
            state = .leader(epoch: epoch, confirmedAt: sentAt)
        } else {
            state = .follower(nextAttempt: sentAt + timing.retryEvery)
        }
    }

    /// A confirmation sent at `sentAt` returned `stillLeader`.
    public mutating func confirmed(_ stillLeader: Bool, sentAt: Instant) -> Action? {
        guard case .leader(let epoch, let confirmedAt) = state else { return nil }
        if stillLeader {
            state = .leader(epoch: epoch, confirmedAt: max(confirmedAt, sentAt))
            return nil
        }
        state = .follower(nextAttempt: sentAt + timing.retryEvery)
        return .stepDown(epoch: epoch, reason: .superseded)
    }

    /// The session failed (or was closed): a leader steps down at once.
    public mutating func connectionLost(now: Instant) -> Action? {
        let previous = state
        state = .follower(nextAttempt: now + timing.retryEvery)
        if case .leader(let epoch, _) = previous { return .stepDown(epoch: epoch, reason: .connectionLost) }
        return nil
    }
}
