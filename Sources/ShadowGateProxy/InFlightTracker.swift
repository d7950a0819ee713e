import Synchronization

/// Counts exchanges that have not finished (client answered and pair record submitted), so shutdown can wait for them.
///
/// Promises: the count never goes below zero (an unmatched `end()` is ignored and counted in
/// `unmatchedEnds`, which a correct data path leaves at zero), and every waiter is resumed, either
/// when the count reaches zero or when ``releaseWaiters()`` gives up on the rest.
final class InFlightTracker: Sendable {
    private struct State {
        var count = 0
        var unmatchedEnds = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func begin() { state.withLock { $0.count += 1 } }

    func end() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard state.count > 0 else {
                state.unmatchedEnds += 1
                return []
            }
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { state.withLock { $0.count } }
    var unmatchedEnds: Int { state.withLock { $0.unmatchedEnds } }

    /// Returns once nothing is in flight, or once ``releaseWaiters()`` is called.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                if state.count == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Resumes every waiter now, whatever the count (the drain deadline passed).
    func releaseWaiters() {
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
