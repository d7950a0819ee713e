import NIOCore
import NIOHTTP1
import NIOPosix
import ShadowGateConfig

/// Called once per exchange, on the pool's event loop, with the result (failures are values).
typealias UpstreamCompletion = (UpstreamResult) -> Void

/// Keep-alive connections to one upstream, owned by one event loop.
///
/// Promises: at most `maxConnections` connections are open at once; at most `maxWaiting` exchanges
/// wait for one (beyond that an exchange fails at once with `.poolSaturated`); every exchange
/// completes by its deadline (`.timeout` otherwise, and a connection with a late answer in flight
/// is closed rather than reused); idle connections are closed after `idleTimeout`.
///
/// Not thread-safe: every call happens on `eventLoop`, which is what makes it lock-free (hence
/// `@unchecked Sendable`: it is only handed across threads to be stored). Every exchange of a pool
/// has the same timeout, so deadlines expire in the order exchanges start: one FIFO queue and one
/// timer per pool replace a scheduled task per request.
final class UpstreamPool: @unchecked Sendable {
    let eventLoop: EventLoop
    let upstream: UpstreamConfig
    private let maxConnections: Int
    private let maxWaiting: Int
    private let maxResponseBytes: Int
    private let timeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var idle: [UpstreamConnection] = []
    private var openCount = 0
    private var waiters = CircularBuffer<PendingExchange>()
    /// Exchanges by start time (so by deadline); finished ones are dropped lazily from the front.
    private var deadlines = CircularBuffer<PendingExchange>()
    private var deadlineTimer: Scheduled<Void>?
    private var sweepTask: Scheduled<Void>?
    private var isShutDown = false
    private let bootstrap: ClientBootstrap

    init(eventLoop: EventLoop, upstream: UpstreamConfig, maxConnections: Int, maxResponseBytes: Int, idleTimeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.upstream = upstream
        self.maxConnections = max(1, maxConnections)
        self.maxWaiting = upstream.maxWaiting
        self.maxResponseBytes = maxResponseBytes
        self.timeout = .milliseconds(Int64(upstream.timeoutMillis))
        self.idleTimeout = idleTimeout
        self.bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(Int64(min(upstream.timeoutMillis, 10_000))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // llhttp already validated the headers the gateway forwards; a second check costs time per request.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .dropBytes, enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(UpstreamConnectionHandler())
                }
            }
    }

    /// Sends `request`; `completion` runs exactly once, on the event loop, within the upstream's timeout.
    func execute(_ request: UpstreamRequest, completion: @escaping UpstreamCompletion) {
        eventLoop.assertInEventLoop()
        let now = NIODeadline.now()
        let exchange = PendingExchange(request: request, completion: completion, started: now, deadline: now + timeout)
        guard !isShutDown else {
            exchange.complete(.failure(.shuttingDown))
            return
        }
        deadlines.append(exchange)
        if deadlineTimer == nil { armDeadlineTimer(for: exchange.deadline) }
        dispatch(exchange)
    }

    /// Whether a new exchange would be refused right now (all connections busy and the queue full).
    var isSaturated: Bool {
        idle.isEmpty && openCount >= maxConnections && waiters.count >= maxWaiting
    }

    /// Closes every connection and fails waiting exchanges.
    func shutdown() {
        isShutDown = true
        sweepTask?.cancel()
        deadlineTimer?.cancel()
        deadlineTimer = nil
        while let waiter = waiters.popFirst() { waiter.complete(.failure(.shuttingDown)) }
        for connection in idle { connection.channel.close(promise: nil) }
        idle.removeAll()
    }

    private func dispatch(_ exchange: PendingExchange) {
        while let connection = idle.popLast() {
            if connection.channel.isActive {
                run(exchange, on: connection)
                return
            }
            openCount -= 1
        }
        if openCount < maxConnections {
            connect(for: exchange)
        } else if waiters.count < maxWaiting {
            waiters.append(exchange)
        } else {
            exchange.complete(.failure(.poolSaturated))
        }
    }

    private func connect(for exchange: PendingExchange) {
        openCount += 1
        bootstrap.connect(host: upstream.host, port: upstream.port).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self) else {
                    openCount -= 1
                    channel.close(promise: nil)
                    exchange.complete(.failure(.connectFailed("pipeline setup failed")))
                    return
                }
                let connection = UpstreamConnection(channel: channel, handler: handler)
                channel.closeFuture.whenComplete { [weak self] _ in self?.connectionClosed(connection) }
                if exchange.isDone {
                    release(connection)
                } else {
                    run(exchange, on: connection)
                }
            case .failure(let error):
                openCount -= 1
                exchange.complete(.failure(.connectFailed("\(upstream.host):\(upstream.port): \(Self.describe(error))")))
                // The slot is free again: someone waiting may now try a fresh connection.
                if let next = nextWaiter() { connect(for: next) }
            }
        }
    }

    private func run(_ exchange: PendingExchange, on connection: UpstreamConnection) {
        exchange.connection = connection
        let reused = connection.completedExchanges > 0
        connection.handler.send(exchange.request, maxResponseBytes: maxResponseBytes) { [self] result in
            exchange.connection = nil
            connection.completedExchanges += 1
            switch result {
            case .success(let response):
                exchange.complete(.success(response))
            case .failure(.connectionClosed) where reused && exchange.request.head.method.isSafeToRetry && !exchange.retried:
                // The keep-alive race: the upstream closed an idle connection as we sent. Safe to retry once.
                exchange.retried = true
                release(connection)
                if !exchange.isDone { dispatch(exchange) }
                return
            case .failure(let failure):
                exchange.complete(.failure(failure))
            }
            release(connection)
        }
    }

    /// Returns a connection after an exchange: to the next waiter, to the idle stack, or closed.
    private func release(_ connection: UpstreamConnection) {
        guard connection.channel.isActive, !connection.handler.mustClose, !isShutDown else {
            connection.channel.close(promise: nil)
            return
        }
        if let next = nextWaiter() {
            run(next, on: connection)
            return
        }
        connection.idleSince = .now()
        idle.append(connection)
        scheduleSweepIfNeeded()
    }

    private func nextWaiter() -> PendingExchange? {
        while let waiter = waiters.popFirst() {
            if !waiter.isDone { return waiter }
        }
        return nil
    }

    private func connectionClosed(_ connection: UpstreamConnection) {
        openCount -= 1
        if let index = idle.firstIndex(where: { $0 === connection }) { idle.remove(at: index) }
        if let next = nextWaiter(), !isShutDown { connect(for: next) }
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
                timeOut(first)
            } else {
                armDeadlineTimer(for: first.deadline)
                return
            }
        }
    }

    private func timeOut(_ exchange: PendingExchange) {
        guard !exchange.isDone else { return }
        if let connection = exchange.connection {
            exchange.connection = nil
            connection.handler.abandon()
        }
        exchange.complete(.failure(.timeout))
    }

    private func scheduleSweepIfNeeded() {
        // Keep the deadline queue from holding on to finished exchanges between timer firings.
        while let first = deadlines.first, first.isDone { deadlines.removeFirst() }
        guard sweepTask == nil else { return }
        sweepTask = eventLoop.scheduleTask(in: idleTimeout) { [weak self] in
            guard let self else { return }
            self.sweepTask = nil
            let cutoff = NIODeadline.now() - self.idleTimeout
            self.idle.removeAll { connection in
                guard connection.idleSince <= cutoff else { return false }
                connection.channel.close(promise: nil)
                return true
            }
            if !self.idle.isEmpty { self.scheduleSweepIfNeeded() }
        }
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? IOError { return error.description }
        return String(describing: error)
    }
}

/// One request making its way through a pool. Confined to the pool's event loop, like the pool.
private final class PendingExchange: @unchecked Sendable {
    let request: UpstreamRequest
    let started: NIODeadline
    let deadline: NIODeadline
    private var completion: UpstreamCompletion?
    var connection: UpstreamConnection?
    var retried = false
    var isDone: Bool { completion == nil }

    init(request: UpstreamRequest, completion: @escaping UpstreamCompletion, started: NIODeadline, deadline: NIODeadline) {
        self.request = request
        self.completion = completion
        self.started = started
        self.deadline = deadline
    }

    func complete(_ result: Result<UpstreamResponse, UpstreamFailure>) {
        guard let completion else { return }
        self.completion = nil
        let micros = (NIODeadline.now() - started).nanoseconds / 1000
        switch result {
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
