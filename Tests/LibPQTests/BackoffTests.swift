import LibPQ
import ShadowGateTesting
import Testing

/// The reconnect delay of the writer, the flag watcher and the promotion controller.
@Suite struct BackoffTests {
    func millis(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }

    @Test func delaysDoubleUpToTheMaximumAndResetToTheInitial() {
        var b = Backoff(initial: .milliseconds(250), maximum: .seconds(5))
        let delays = (0..<7).map { _ in millis(b.next()) }
        #expect(delays == [250, 500, 1000, 2000, 4000, 5000, 5000])
        b.reset()
        let afterReset = b.next()
        #expect(millis(afterReset) == 250)
        #expect(millis(b.current) == 500)
    }

    @Test func anotherFactorGrowsByThatFactor() {
        var b = Backoff(initial: .milliseconds(100), maximum: .seconds(1), factor: 3)
        let grown = (0..<4).map { _ in millis(b.next()) }
        #expect(grown == [100, 300, 900, 1000])
        var flat = Backoff(initial: .seconds(1), maximum: .seconds(1), factor: 1)
        let constant = (0..<3).map { _ in millis(flat.next()) }
        #expect(constant == [1000, 1000, 1000])
    }

    @Test func jitterTakesOffAtMostItsFractionAndLeavesTheGrowthAlone() {
        var rng = SeededGenerator(seed: 42)
        var b = Backoff(initial: .milliseconds(1000), maximum: .seconds(8), jitter: 0.5)
        var seen: Set<Int64> = []
        for expected in [1000, 2000, 4000, 8000, 8000, 8000] as [Int64] {
            let delay = millis(b.next(using: &rng))
            #expect(delay >= expected / 2 && delay <= expected, "delay \(delay) outside [\(expected / 2), \(expected)]")
            seen.insert(delay * 1000 / expected)
        }
        // Random, not a constant fraction.
        #expect(seen.count > 1)
        #expect(millis(b.current) == 8000)
        // No jitter: the generator is not consulted and the delay is exact.
        var exact = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        let unjittered = exact.next(using: &rng)
        #expect(millis(unjittered) == 100)
    }
}
