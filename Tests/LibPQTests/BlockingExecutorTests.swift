import Foundation
import LibPQ
import Testing

/// The one executor for blocking work: order, thread ownership, concurrency, shutdown.
@Suite struct BlockingExecutorTests {
    /// A lock-guarded list the jobs append to.
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func append(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
    }

    /// The calling thread's id (pthread_t as a number), to tell threads apart.
    static func threadID() -> UInt {
        #if canImport(Glibc)
        UInt(pthread_self())
        #else
        UInt(bitPattern: pthread_self())
        #endif
    }

    @Test func runReturnsTheResultOrTheError() async throws {
        let executor = BlockingExecutor(name: "test-blocking")
        defer { executor.shutdownAndWait() }
        let value = try await executor.run { 6 * 7 }
        #expect(value == 42)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await executor.run { throw Failure() } }
    }

    @Test func jobsRunInOrderOnOneThread() async throws {
        let executor = BlockingExecutor(name: "test-serial")
        let log = Log()
        let testThread = Self.threadID()
        for i in 0..<200 {
            #expect(executor.execute { log.append("\(i)@\(Self.threadID())") })
        }
        #expect(executor.shutdownAndWait(timeout: .seconds(30)))
        let entries = log.all.map { $0.split(separator: "@").map(String.init) }
        #expect(entries.map { $0[0] } == (0..<200).map(String.init))
        let threads = Set(entries.map { $0[1] })
        #expect(threads.count == 1)
        #expect(threads.first != String(testThread))
    }

    @Test func twoThreadsRunTwoJobsAtOnce() async throws {
        let executor = BlockingExecutor(name: "test-pair", threads: 2)
        defer { executor.shutdownAndWait() }
        let a = DispatchSemaphore(value: 0), b = DispatchSemaphore(value: 0)
        // Each job waits for the other to have started: only possible when both run at once.
        async let first = executor.run { a.signal(); return b.wait(timeout: .now() + 20) == .success }
        async let second = executor.run { b.signal(); return a.wait(timeout: .now() + 20) == .success }
        let (x, y) = try await (first, second)
        #expect(x && y)
    }

    @Test func afterShutdownQueuedJobsStillRunAndNewOnesAreRefused() async throws {
        let executor = BlockingExecutor(name: "test-shutdown")
        let gate = DispatchSemaphore(value: 0)
        let log = Log()
        executor.execute { _ = gate.wait(timeout: .now() + 20); log.append("first") }
        executor.execute { log.append("queued") }
        executor.shutdown()
        #expect(executor.isShuttingDown)
        #expect(!executor.execute { log.append("refused") })
        await #expect(throws: BlockingExecutorError.self) { try await executor.run { 1 } }
        gate.signal()
        #expect(executor.shutdownAndWait(timeout: .seconds(30)))
        #expect(log.all == ["first", "queued"])
    }

    @Test func shutdownCutsALongRunningLoopsSleepShort() async throws {
        let executor = BlockingExecutor(name: "test-loop")
        let log = Log()
        let started = DispatchSemaphore(value: 0)
        executor.execute {
            started.signal()
            while !executor.isShuttingDown {
                // An hour: only shutdown ends this sleep within the test's timeout (whether it
                // comes before the sleep begins or during it).
                let slept = executor.sleep(.seconds(3600))
                log.append("sleep returned \(slept)")
            }
        }
        #expect(started.wait(timeout: .now() + 20) == .success)
        #expect(executor.shutdownAndWait(timeout: .seconds(30)))
        #expect(log.all == ["sleep returned false"] || log.all.isEmpty)
        // Sleeping after shutdown returns at once, saying so.
        #expect(!executor.sleep(.seconds(3600)))
    }

    @Test func anUnusedExecutorStopsAtOnce() {
        let executor = BlockingExecutor(name: "test-unused")
        #expect(executor.shutdownAndWait(timeout: .seconds(1)))
    }
}
