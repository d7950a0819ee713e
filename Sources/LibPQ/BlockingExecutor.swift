import Foundation

/// Runs blocking work — libpq calls, `pg_ctl`, spool files — on threads of its own, never on an
/// event loop or Swift's cooperative pool. The one executor for blocking work in ShadowGate.
///
/// Promises:
/// - Jobs run in submission order. With `threads: 1` (the default) they also run one at a time on
///   the same thread, so state a job keeps (a `PGConnection`) is owned by that thread.
/// - Threads are made on first use, up to `threads`, and live until ``shutdown()``; an executor
///   that is never used costs no thread.
/// - After ``shutdown()`` new jobs are refused (``execute(_:)`` returns `false`, ``run(_:)`` throws
///   ``BlockingExecutorError``), jobs already queued still run, then the threads end.
/// - A long-running loop (a watcher, a controller, a writer's thread) is one job: it checks
///   ``isShuttingDown`` between blocking calls and waits with ``sleep(_:)``, which shutdown cuts
///   short; ``shutdownAndWait(timeout:)`` returns once the loop has returned.
public final class BlockingExecutor: @unchecked Sendable {
    public let name: String
    public let maxThreads: Int
    /// Guards everything below it.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var threadCount = 0
    private var idleThreads = 0
    private var runningThreads = 0
    private var shuttingDown = false

    /// - Parameters:
    ///   - name: the threads' name (`name-2`, `name-3`… for further threads), shown by debuggers and `top -H`.
    ///   - threads: at most this many jobs run at once.
    public init(name: String, threads: Int = 1) {
        self.name = name
        self.maxThreads = max(1, threads)
    }

    /// Queues `job`; `false` (and the job is dropped, not run) once shutdown has begun.
    @discardableResult
    public func execute(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        guard !shuttingDown else {
            condition.unlock()
            return false
        }
        jobs.append(job)
        let pending = jobs.count - head
        var spawn: Int? = nil
        if pending > idleThreads, threadCount < maxThreads {
            threadCount += 1
            runningThreads += 1
            idleThreads += 1  // counted idle until it takes its first job
            spawn = threadCount
        }
        condition.unlock()
        // Broadcast, not signal: jobs sleeping in sleep(_:) wait on the same condition.
        condition.broadcast()
        if let spawn {
            let threadName = spawn == 1 ? name : "\(name)-\(spawn)"
            // Named from inside: on Linux a name set before start() does not reach the thread.
            Thread { [self] in
                Thread.current.name = threadName
                work()
            }.start()
        }
        return true
    }

    /// Runs `body` on one of the executor's threads and returns its result without blocking the
    /// caller's thread. Throws what `body` throws, or ``BlockingExecutorError`` after shutdown.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = execute { continuation.resume(with: Result { try body() }) }
            if !accepted { continuation.resume(throwing: BlockingExecutorError(executor: name)) }
        }
    }

    /// True once ``shutdown()`` was called: long-running jobs should return soon.
    public var isShuttingDown: Bool {
        condition.lock()
        defer { condition.unlock() }
        return shuttingDown
    }

    /// Sleeps up to `duration`; returns early, with `false`, when shutdown begins (or had begun).
    @discardableResult
    public func sleep(_ duration: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: duration.blockingSeconds)
        condition.lock()
        defer { condition.unlock() }
        while !shuttingDown, Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        return !shuttingDown
    }

    /// Refuses new jobs; queued ones still run, then the threads end. Does not wait.
    public func shutdown() {
        condition.lock()
        shuttingDown = true
        condition.unlock()
        condition.broadcast()
    }

    /// ``shutdown()``, then waits until every thread has ended, at most `timeout`; `true` when they
    /// have. Must not be called from one of the executor's own threads (it would wait for itself).
    @discardableResult
    public func shutdownAndWait(timeout: Duration = .seconds(10)) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout.blockingSeconds)
        condition.lock()
        shuttingDown = true
        condition.broadcast()
        while runningThreads > 0, Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        let done = runningThreads == 0
        condition.unlock()
        return done
    }

    private func work() {
        condition.lock()
        while true {
            while head == jobs.count, !shuttingDown { condition.wait() }
            if head == jobs.count { break }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            idleThreads -= 1
            condition.unlock()
            job()
            condition.lock()
            idleThreads += 1
        }
        idleThreads -= 1
        runningThreads -= 1
        condition.unlock()
        condition.broadcast()
    }
}

/// A job offered to a ``BlockingExecutor`` after its shutdown began; it was not run.
public struct BlockingExecutorError: Error, CustomStringConvertible, Sendable {
    public let executor: String
    public var description: String { "\(executor) is shut down; the work was not started" }
}
