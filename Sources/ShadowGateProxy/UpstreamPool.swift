import NIOCore
import NIOHTTP1
import NIOPosix
import ShadowGateConfig
import ShadowGateTLS

/// Called once per exchange, on the pool's event loop, with the result (failures are values).
typealias UpstreamCompletion = (UpstreamResult) -> Void

/// Keep-alive connections to one upstream, owned by one event loop.
///
/// Promises: at most `maxConnections` connections are open at once; at most `maxWaiting` exchanges
/// wait for one (beyond that an exchange fails at once with `.poolSaturated`); every exchange
/// completes by its deadline (`.timeout` otherwise). A connection whose exchange timed out is kept,
/// still leased, until its late answer arrives — then it is reused — or until `idleTimeout` passes
/// (then it is closed): a timeout does not cost a new connection. Consecutive connect failures and
/// timeouts open a circuit breaker with jittered exponential backoff (see ``StateMachine``): while
/// it is open, exchanges fail at once with `.circuitOpen`, so a dead upstream costs nothing per request.
/// Idle connections are closed after `idleTimeout`.
///
/// Not thread-safe: every call happens on `eventLoop`, which is what makes it lock-free (hence
/// `@unchecked Sendable`: it is only handed across threads to be stored). Every exchange of a pool
/// has the same timeout, so deadlines expire in the order exchanges start: one FIFO queue and one
/// timer per pool replace a scheduled task per request. The bookkeeping lives in ``StateMachine``;
/// this class only executes its actions.
final class UpstreamPool: @unchecked Sendable {
    let eventLoop: EventLoop
    let upstream: UpstreamConfig
    /// `upstream.authority`, computed once: every request's `host`.
    let authority: String
    private let maxResponseBytes: Int
    private let timeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var machine: StateMachine<UpstreamConnection, PendingExchange>
    /// Exchanges by start time (so by deadline); finished ones are dropped lazily from the front.
    private var deadlines = CircularBuffer<PendingExchange>()
    private var deadlineTimer: Scheduled<Void>?
    private var sweepTask: Scheduled<Void>?
    private let bootstrap: ClientBootstrap
    private var random = SystemRandomNumberGenerator()

    init(
        eventLoop: EventLoop, upstream: UpstreamConfig, maxConnections: Int, maxResponseBytes: Int, idleTimeout: TimeAmount,
        tls: UpstreamTLSContext? = nil
    ) {
        self.eventLoop = eventLoop
        self.upstream = upstream
        self.authority = upstream.authority
        self.machine = StateMachine(maxConnections: maxConnections, maxWaiting: upstream.maxWaiting)
        self.maxResponseBytes = maxResponseBytes
        self.timeout = .milliseconds(Int64(upstream.timeoutMillis))
        self.idleTimeout = idleTimeout
        self.bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(Int64(min(upstream.timeoutMillis, 10_000))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // https: one handshake per pooled connection, never per request.
                    if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeHandler()) }
                    // The handler is the connection's whole HTTP layer: it writes requests as bytes and frames responses.
                    try channel.pipeline.syncOperations.addHandler(UpstreamConnectionHandler())
                }
            }
    }

    /// Sends `request`; `completion` runs exactly once, on the event loop, within the upstream's timeout
    /// (possibly synchronously, before `execute` returns, when the exchange is refused at once).
    func execute(_ request: consuming UpstreamRequest, completion: @escaping UpstreamCompletion) {
        eventLoop.assertInEventLoop()
        let now = NIODeadline.now()
        let exchange = PendingExchange(request: request, completion: completion, started: now, deadline: now + timeout)
        switch machine.lease(exchange, now: now) {
        case .fail(let exchange, let failure):
            exchange.complete(.failure(failure))
            return
        case .run(let exchange, let connection):
            track(exchange)
            run(exchange, on: connection)
        case .connect(let exchange):
            track(exchange)
            connect(for: exchange)
        case .wait:
            track(exchange)
        }
    }

    /// Whether a new exchange would be refused right now (all connections busy and the queue full).
    var isSaturated: Bool { machine.isSaturated }

    /// Whether a new exchange would be refused right now by the circuit breaker.
    var isCircuitOpen: Bool {
        if case .closed = machine.circuit { return false }
        return machine.isCircuitOpen(now: .now())
    }

    /// Closes every connection and fails waiting exchanges.
    func shutdown() {
        sweepTask?.cancel()
        sweepTask = nil
        deadlineTimer?.cancel()
        deadlineTimer = nil
        perform(machine.shutdown())
    }

    private func track(_ exchange: PendingExchange) {
        deadlines.append(exchange)
        if deadlineTimer == nil { armDeadlineTimer(for: exchange.deadline) }
    }

    private func perform(_ actions: [StateMachine<UpstreamConnection, PendingExchange>.Action]) {
        for action in actions {
            switch action {
            case .run(let exchange, let connection): run(exchange, on: connection)
            case .connect(let exchange): connect(for: exchange)
            case .fail(let exchange, let failure): exchange.complete(.failure(failure))
            case .close(let connection): connection.channel.close(promise: nil)
            case .scheduleSweep: scheduleSweepIfNeeded()
            }
        }
    }

    private func connect(for exchange: PendingExchange) {
        bootstrap.connect(host: upstream.host, port: upstream.port).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self) else {
                    channel.close(promise: nil)
                    perform(machine.connectFailed(
                        for: exchange, failure: .connectFailed("pipeline setup failed"), now: .now(), jitter: jitter()))
                    return
                }
                let connection = UpstreamConnection(channel: channel, handler: handler)
                channel.closeFuture.whenComplete { [weak self] _ in
                    guard let self else { return }
                    self.perform(self.machine.closed(connection))
                }
                perform(machine.connected(connection, for: exchange, now: .now()))
            case .failure(let error):
                perform(machine.connectFailed(
                    for: exchange, failure: .connectFailed("\(upstream.host):\(upstream.port): \(Self.describe(error))"),
                    now: .now(), jitter: jitter()))
            }
        }
    }

    private func jitter() -> Double { Double.random(in: 0..<1, using: &random) }

    private func run(_ exchange: PendingExchange, on connection: UpstreamConnection) {
        exchange.connection = connection
        let reused = connection.completedExchanges > 0
        connection.handler.send(exchange.request, maxResponseBytes: maxResponseBytes) { [self] result in
            exchange.connection = nil
            connection.completedExchanges += 1
            switch result {
            case .success(let response):
                machine.exchangeSucceeded()
                // A no-op when the exchange already timed out: the late answer only frees the connection.
                exchange.complete(.success(response))
            case .failure(.connectionClosed) where reused && exchange.request.method.isSafeToRetry && !exchange.retried && !exchange.isDone:
                // The keep-alive race: the upstream closed an idle connection as we sent. Safe to retry once.
                exchange.retried = true
                perform(machine.released(connection, reusable: false, now: .now()))
                switch machine.lease(exchange, now: .now()) {
                case .fail(let exchange, let failure): exchange.complete(.failure(failure))
                case .run(let exchange, let connection): run(exchange, on: connection)
                case .connect(let exchange): connect(for: exchange)
                case .wait: break
                }
                return
            case .failure(let failure):
                exchange.complete(.failure(failure))
            }
            let reusable = !connection.handler.mustClose
            perform(machine.released(connection, reusable: reusable, now: .now()))
        }
    }

    // MARK: Deadlines

    private func armDeadlineTimer(for deadline: NIODeadline) {
        deadlineTimer = eventLoop.scheduleTask(deadline: deadline) { [weak self] in
            self?.expireDeadlines()
        }
    }

    private func expireDeadlines() {
        deadlineTimer = nil
        let now = NIODeadline.now()
        while let first = deadlines.first {
            if first.isDone {
                deadlines.removeFirst()
            } else if first.deadline <= now {
                deadlines.removeFirst()
                timeOut(first, now: now)
            } else {
                armDeadlineTimer(for: first.deadline)
                return
            }
        }
    }

    private func timeOut(_ exchange: PendingExchange, now: NIODeadline) {
        guard !exchange.isDone else { return }
        // The connection (if any) stays leased: its late answer is read and dropped, then it is reused.
        let connection = exchange.connection
        exchange.complete(.failure(.timeout))
        perform(machine.exchangeTimedOut(on: connection, now: now, jitter: jitter()))
        if connection != nil { scheduleSweepIfNeeded() }
    }

    private func scheduleSweepIfNeeded() {
        // Keep the deadline queue from holding on to finished exchanges between timer firings.
        while let first = deadlines.first, first.isDone { deadlines.removeFirst() }
        guard sweepTask == nil, !machine.isShutDown else { return }
        sweepTask = eventLoop.scheduleTask(in: idleTimeout) { [weak self] in
            guard let self else { return }
            self.sweepTask = nil
            let cutoff = NIODeadline.now() - self.idleTimeout
            let (closing, more) = self.machine.sweep(idleCutoff: cutoff, lateCutoff: cutoff)
            for connection in closing { connection.channel.close(promise: nil) }
            if more { self.scheduleSweepIfNeeded() }
        }
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? IOError { return error.description }
        return String(describing: error)
    }
}

/// One request making its way through a pool. Confined to the pool's event loop, like the pool.
final class PendingExchange: PoolWaiter, @unchecked Sendable {
    let request: UpstreamRequest
    let started: NIODeadline
    let deadline: NIODeadline
    private var completion: UpstreamCompletion?
    var connection: UpstreamConnection?
    var retried = false
    var isDone: Bool { completion == nil }

    init(request: consuming UpstreamRequest, completion: @escaping UpstreamCompletion, started: NIODeadline, deadline: NIODeadline) {
        self.request = request
        self.completion = completion
        self.started = started
        self.deadline = deadline
    }

    func complete(_ result: consuming Result<UpstreamResponse, UpstreamFailure>) {
        guard let completion else { return }
        self.completion = nil
        let micros = (NIODeadline.now() - started).nanoseconds / 1000
        switch consume result {
        case .success(let response):
            completion(UpstreamResult(response: response, failure: nil, latencyMicros: micros))
        case .failure(let failure):
            completion(UpstreamResult(response: nil, failure: failure, latencyMicros: micros))
        }
    }
}

extension HTTPMethod {
    /// Idempotent methods, which may be sent again after a connection broke before any answer.
    var isSafeToRetry: Bool {
        switch self {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: true
        default: false
        }
    }
}
