/// The delay before the next reconnect attempt: `initial` after the first failure, multiplied by
/// `factor` after each further one up to `maximum`, back to `initial` after ``reset()``.
///
/// A value type with no clock and no sleeping: callers ask ``next(using:)`` for a delay and wait
/// it out themselves, so the sequence is testable without time passing. With `jitter` > 0 each
/// delay is drawn uniformly from `delay × [1 − jitter, 1]` (so replicas that lost the same server
/// do not all come back in the same instant); the un-jittered sequence still grows as described.
public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    public let factor: Double
    /// Fraction (0...1) of each delay that may be taken off at random.
    public let jitter: Double
    /// The delay the next failure waits (before jitter).
    public private(set) var current: Duration

    public init(initial: Duration, maximum: Duration, factor: Double = 2, jitter: Double = 0) {
        precondition(initial > .zero && maximum >= initial && factor >= 1, "Backoff needs 0 < initial ≤ maximum and factor ≥ 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = min(max(jitter, 0), 1)
        self.current = initial
    }

    /// The delay to wait now; the one after it grows by `factor`, capped at `maximum`.
    public mutating func next<G: RandomNumberGenerator>(using generator: inout G) -> Duration {
        let delay = current
        current = min(current * factor, maximum)
        guard jitter > 0 else { return delay }
        return delay * (1 - jitter * Double.random(in: 0...1, using: &generator))
    }

    /// ``next(using:)`` with the system's random numbers (only used when `jitter` > 0).
    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() {
        current = initial
    }
}

extension Duration {
    /// The duration in seconds (LibPQ's own, so it does not depend on where other modules define theirs).
    var blockingSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
