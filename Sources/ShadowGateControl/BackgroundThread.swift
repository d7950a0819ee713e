import Foundation

/// A named thread for blocking libpq work, with a sleep that ``stop()`` cuts short.
///
/// The body runs once, on its own thread, and must return soon after `isStopping` turns true
/// (it checks it between blocking calls and sleeps with ``sleep(_:)``).
final class BackgroundThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopping = false
    private var started = false
    private var finished = false
    private let name: String

    init(name: String) {
        self.name = name
    }

    func start(_ body: @escaping @Sendable (BackgroundThread) -> Void) {
        condition.lock()
        started = true
        condition.unlock()
        let thread = Thread { [self] in
            body(self)
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Sleeps up to `duration`; returns early (with `false`) when stopping.
    @discardableResult
    func sleep(_ duration: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: duration.seconds)
        condition.lock()
        defer { condition.unlock() }
        while !stopping, Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        return !stopping
    }

    /// Asks the body to finish and waits until it has (at most `timeout`); returns at once if it never started.
    func stop(timeout: Duration = .seconds(10)) {
        let deadline = Date(timeIntervalSinceNow: timeout.seconds)
        condition.lock()
        stopping = true
        condition.broadcast()
        while started, !finished, Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        condition.unlock()
    }
}
