import Synchronization

/// Counts exchanges that have not finished (client answered and pair record submitted), so shutdown can wait for them.
///
/// Promises: the count never goes below zero (an unmatched `end()` is ignored and counted in
/// `unmatchedEnds`, which a correct data path leaves at zero), and every waiter is resumed, either
/// when the count reaches zero or when ``releaseWaiters()`` gives up on the rest. A release is for
/// good: a wait that starts after it (the drain deadline's timer can fire before shutdown gets to
/// wait) returns at once instead of waiting for a count that may never reach zero.
final class InFlightTracker: Sendable {
    private struct State {
        var count = 0
        var unmatchedEnds = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var released = false
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

    /// Returns once nothing is in flight, or once ``releaseWaiters()`` is called (before or during the wait).
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                if state.count == 0 || state.released { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Resumes every waiter now, and every later one at once, whatever the count (the drain deadline passed).
    func releaseWaiters() {
        let waiters = state.withLock { state in
            state.released = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
