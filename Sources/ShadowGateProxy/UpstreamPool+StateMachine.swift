import NIOCore

/// A connection as the pool's state machine sees it.
protocol PoolConnection: AnyObject {
    /// False once the channel is no longer active (it must not be leased).
    var isUsable: Bool { get }
}

/// An exchange waiting for a connection, as the pool's state machine sees it.
protocol PoolWaiter: AnyObject {
    /// True once the exchange finished (timed out while waiting): it is dropped, not served.
    var isDone: Bool { get }
}

extension UpstreamPool {
    /// The pool's bookkeeping as a value: idle stack, leases, waiting room, connect backoff and circuit breaker.
    ///
    /// Promises:
    /// - at most `maxConnections` connections open or connecting at once, at most `maxWaiting` waiters;
    /// - a connection whose exchange timed out stays leased (`late`) until its late answer arrives
    ///   (then it is reused) or until the sweep's cutoff (then closed): a timeout does not force a new
    ///   connection;
    /// - after `failureThreshold` consecutive failures (connects that failed, exchanges that timed out)
    ///   the circuit opens for a backoff of `baseBackoff · 2^(opens−1)` (at most `maxBackoff`), scaled by
    ///   a jitter factor in [0.5, 1); while open, an exchange that would need a new connection or a wait
    ///   fails at once with `.circuitOpen` (no connect, no queueing) and waiters are failed the same way.
    ///   When the backoff ends one probe connect is let through (half open): success closes the circuit,
    ///   failure opens it again with the next, longer backoff. Idle live connections keep serving.
    ///
    /// States of the circuit: `closed(failures)`, `open(until, opens)`, `halfOpen(opens)` (probe in flight).
    struct StateMachine<Connection: PoolConnection, Waiter: PoolWaiter> {
        enum Circuit: Equatable {
            case closed(failures: Int)
            case open(until: NIODeadline, opens: Int)
            case halfOpen(opens: Int)
        }

        /// What the pool must do for an exchange it was given.
        enum LeaseAction {
            case run(Waiter, on: Connection)
            case connect(Waiter)
            /// Queued in the waiting room: nothing to do now.
            case wait
            case fail(Waiter, UpstreamFailure)
        }

        /// What the pool must do after a connection event.
        enum Action {
            case run(Waiter, on: Connection)
            case connect(Waiter)
            case fail(Waiter, UpstreamFailure)
            case close(Connection)
            /// A connection went idle: make sure the idle sweep is scheduled.
            case scheduleSweep
        }

        static var failureThreshold: Int { 3 }
        static var baseBackoff: TimeAmount { .milliseconds(100) }
        static var maxBackoff: TimeAmount { .seconds(5) }

        let maxConnections: Int
        let maxWaiting: Int
        private(set) var circuit: Circuit = .closed(failures: 0)
        private(set) var openCount = 0
        private var idle: [(connection: Connection, since: NIODeadline)] = []
        private var late: [(connection: Connection, since: NIODeadline)] = []
        private var waiters = CircularBuffer<Waiter>()
        private(set) var isShutDown = false

        init(maxConnections: Int, maxWaiting: Int) {
            self.maxConnections = max(1, maxConnections)
            self.maxWaiting = max(0, maxWaiting)
        }

        var idleCount: Int { idle.count }
        var lateCount: Int { late.count }
        var waitingCount: Int { waiters.count }

        /// Whether a new exchange would be refused as saturated right now.
        var isSaturated: Bool {
            idle.isEmpty && openCount >= maxConnections && waiters.count >= maxWaiting
        }

        /// Whether a new exchange that needs a connection would be refused by the breaker at `now`.
        func isCircuitOpen(now: NIODeadline) -> Bool {
            switch circuit {
            case .closed: false
            case .open(let until, _): now < until
            case .halfOpen: true
            }
        }

        static func backoff(opens: Int, jitter: Double) -> TimeAmount {
            let exponent = min(max(opens - 1, 0), 16)
            let full = min(baseBackoff.nanoseconds << Int64(exponent), maxBackoff.nanoseconds)
            let factor = 0.5 + 0.5 * min(max(jitter, 0), 0.999_999)
            return .nanoseconds(Int64(Double(full) * factor))
        }

        // MARK: Events

        /// A new exchange (or a retried one) wants a connection.
        mutating func lease(_ waiter: Waiter, now: NIODeadline) -> LeaseAction {
            guard !isShutDown else { return .fail(waiter, .shuttingDown) }
            while let last = idle.popLast() {
                if last.connection.isUsable { return .run(waiter, on: last.connection) }
                // Its close notification is on its way; it no longer counts once that arrives.
            }
            switch circuit {
            case .closed:
                break
            case .open(let until, let opens):
                guard now >= until else { return .fail(waiter, .circuitOpen) }
                guard openCount < maxConnections else { return .fail(waiter, .circuitOpen) }
                circuit = .halfOpen(opens: opens)
                openCount += 1
                return .connect(waiter)
            case .halfOpen:
                return .fail(waiter, .circuitOpen)
            }
            if openCount < maxConnections {
                openCount += 1
                return .connect(waiter)
            }
            if waiters.count < maxWaiting {
                waiters.append(waiter)
                return .wait
            }
            return .fail(waiter, .poolSaturated)
        }

        /// A connect started by `.connect(waiter)` succeeded.
        mutating func connected(_ connection: Connection, for waiter: Waiter, now: NIODeadline) -> [Action] {
            circuit = .closed(failures: 0)
            if isShutDown { return [.close(connection)] }
            if !waiter.isDone { return [.run(waiter, on: connection)] }
            return released(connection, reusable: true, now: now)
        }

        /// A connect started by `.connect(waiter)` failed. `jitter` is a uniform draw in [0, 1).
        mutating func connectFailed(for waiter: Waiter, failure: UpstreamFailure, now: NIODeadline, jitter: Double) -> [Action] {
            openCount -= 1
            var actions: [Action] = [.fail(waiter, failure)]
            if recordFailure(now: now, jitter: jitter) {
                actions += failWaiters(.circuitOpen)
            } else if case .closed = circuit, !isShutDown, openCount < maxConnections, let next = nextWaiter() {
                // The slot is free again: someone waiting may try a fresh connection.
                openCount += 1
                actions.append(.connect(next))
            }
            return actions
        }

        /// An exchange got a complete answer (in time or late): the upstream is alive.
        mutating func exchangeSucceeded() {
            if case .closed = circuit { circuit = .closed(failures: 0) }
        }

        /// An exchange hit its deadline. With a connection, that connection stays leased as `late`
        /// until its answer arrives (``released(_:reusable:now:)``) or the sweep closes it.
        mutating func exchangeTimedOut(on connection: Connection?, now: NIODeadline, jitter: Double) -> [Action] {
            guard let connection else { return [] }
            late.append((connection, now))
            if recordFailure(now: now, jitter: jitter) { return failWaiters(.circuitOpen) }
            return []
        }

        /// A leased connection is free again (its exchange, possibly a late one, ended).
        mutating func released(_ connection: Connection, reusable: Bool, now: NIODeadline) -> [Action] {
            if !late.isEmpty, let index = late.firstIndex(where: { $0.connection === connection }) {
                late.remove(at: index)
            }
            guard reusable, connection.isUsable, !isShutDown else { return [.close(connection)] }
            if let next = nextWaiter() { return [.run(next, on: connection)] }
            idle.append((connection, now))
            return [.scheduleSweep]
        }

        /// A connection's channel closed (for whatever reason).
        mutating func closed(_ connection: Connection) -> [Action] {
            openCount -= 1
            if let index = idle.firstIndex(where: { $0.connection === connection }) { idle.remove(at: index) }
            if !late.isEmpty, let index = late.firstIndex(where: { $0.connection === connection }) { late.remove(at: index) }
            guard !isShutDown, case .closed = circuit, openCount < maxConnections, let next = nextWaiter() else { return [] }
            openCount += 1
            return [.connect(next)]
        }

        /// Closes idle connections idle since before `idleCutoff` and late ones late since before `lateCutoff`.
        /// Returns what to close and whether anything is left to sweep later.
        mutating func sweep(idleCutoff: NIODeadline, lateCutoff: NIODeadline) -> (close: [Connection], more: Bool) {
            var closing: [Connection] = []
            idle.removeAll { entry in
                guard entry.since <= idleCutoff else { return false }
                closing.append(entry.connection)
                return true
            }
            late.removeAll { entry in
                guard entry.since <= lateCutoff else { return false }
                closing.append(entry.connection)
                return true
            }
            return (closing, !idle.isEmpty || !late.isEmpty)
        }

        mutating func shutdown() -> [Action] {
            isShutDown = true
            var actions = failWaiters(.shuttingDown)
            for entry in idle { actions.append(.close(entry.connection)) }
            idle.removeAll()
            return actions
        }

        // MARK: Internals

        /// Counts a failure; returns true when this failure opened the circuit.
        private mutating func recordFailure(now: NIODeadline, jitter: Double) -> Bool {
            switch circuit {
            case .closed(let failures):
                guard failures + 1 >= Self.failureThreshold else {
                    circuit = .closed(failures: failures + 1)
                    return false
                }
                circuit = .open(until: now + Self.backoff(opens: 1, jitter: jitter), opens: 1)
                return true
            case .halfOpen(let opens):
                circuit = .open(until: now + Self.backoff(opens: opens + 1, jitter: jitter), opens: opens + 1)
                return true
            case .open:
                return false
            }
        }

        private mutating func nextWaiter() -> Waiter? {
            while let waiter = waiters.popFirst() {
                if !waiter.isDone { return waiter }
            }
            return nil
        }

        private mutating func failWaiters(_ failure: UpstreamFailure) -> [Action] {
            var actions: [Action] = []
            while let waiter = nextWaiter() { actions.append(.fail(waiter, failure)) }
            return actions
        }
    }
}
