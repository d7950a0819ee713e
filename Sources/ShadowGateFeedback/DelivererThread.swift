import Foundation

/// A plain dedicated thread with an interruptible sleep, for the deliverer's loop (blocking libpq
/// and socket calls; never an event loop or the cooperative pool).
// TODO(merge): replace with the shared executor type once it lands.
final class DelivererThread: @unchecked Sendable {
    private let name: String
    private let condition = NSCondition()
    private var stopping = false
    private var started = false
    private var finished = false

    init(name: String) { self.name = name }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    func start(_ body: @escaping @Sendable (DelivererThread) -> Void) {
        let thread = Thread { [self] in
            body(self)
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        condition.lock()
        started = true
        condition.unlock()
        thread.start()
    }

    /// Sleeps up to `duration`; returns early when ``stop()`` is called.
    func sleep(_ duration: Duration) {
        let deadline = Date().addingTimeInterval(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        condition.lock()
        while !stopping, Date() < deadline { _ = condition.wait(until: deadline) }
        condition.unlock()
    }

    /// Asks the loop to end and waits up to `timeout` for it.
    func stop(timeout: TimeInterval = 15) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while started, !finished, Date() < deadline { _ = condition.wait(until: deadline) }
        condition.unlock()
    }
}
