@testable import ShadowGateProxy
import Testing

/// The drain's count of unfinished exchanges: every wait ends, whatever order the events come in.
@Suite("In-flight tracker")
struct InFlightTrackerTests {
    /// Whether `wait` returned within `bound` (false: it was still waiting; the waiter is then released).
    static func returns(_ tracker: InFlightTracker, within bound: Duration, _ wait: @escaping @Sendable () async -> Void) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await wait(); return true }
            group.addTask { try? await Task.sleep(for: bound); return false }
            let first = await group.next() ?? false
            // Ends the waiting task when it lost the race, so the group can finish.
            tracker.end()
            group.cancelAll()
            await group.waitForAll()
            return first
        }
    }

    @Test("a wait ends when the count reaches zero")
    func endsAtZero() async {
        let tracker = InFlightTracker()
        tracker.begin()
        tracker.begin()
        let waiting = Task { await tracker.waitUntilIdle() }
        tracker.end()
        #expect(tracker.count == 1)
        tracker.end()
        await waiting.value
        #expect(tracker.count == 0)
        tracker.end()
        #expect(tracker.unmatchedEnds == 1)
        #expect(tracker.count == 0)
    }

    @Test("a release that comes before the wait (the drain deadline's timer fired first) still ends it")
    func releaseBeforeWait() async {
        let tracker = InFlightTracker()
        tracker.begin()
        tracker.releaseWaiters()
        // Before the fix this wait was never resumed: the release had found no waiter.
        #expect(await Self.returns(tracker, within: .seconds(10)) { await tracker.waitUntilIdle() })
    }

    @Test("a release during the wait ends it although exchanges are still in flight")
    func releaseDuringWait() async {
        let tracker = InFlightTracker()
        tracker.begin()
        let waiting = Task { await tracker.waitUntilIdle() }
        // Gives the wait time to store its waiter (had it not, this is the case above, also covered).
        try? await Task.sleep(for: .milliseconds(50))
        tracker.releaseWaiters()
        await waiting.value
        #expect(tracker.count == 1)
    }
}
