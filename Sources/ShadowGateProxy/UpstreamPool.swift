import NIOCore
import NIOHTTP1
import NIOPosix
import ShadowGateCore

/// Keep-alive connections to one upstream, owned by one event loop.
///
/// Promises: at most `maxConnections` connections are open at once; at most `maxWaiting` exchanges
/// wait for one (beyond that an exchange fails at once with `.poolSaturated`); every exchange
/// completes by its deadline (`.timeout` otherwise, and a connection with a late answer in flight
/// is closed rather than reused); idle connections are closed after `idleTimeout`.
/// Not thread-safe: every call happens on `eventLoop`, which is what makes it lock-free.
final class UpstreamPool: @unchecked Sendable {
    let eventLoop: EventLoop
    let upstream: UpstreamConfig
    private let maxConnections: Int
    private let maxWaiting: Int
    private let maxResponseBytes: Int
    private let idleTimeout: TimeAmount
    private var idle: [UpstreamConnection] = []
    private var openCount = 0
    private var waiters = CircularBuffer<PendingExchange>()
    private var sweepTask: Scheduled<Void>?
    private var isShutDown = false
    private let bootstrap: ClientBootstrap

    /// Connections opened over the pool's life (for tests and metrics).
    private(set) var connectionsOpened = 0

    init(eventLoop: EventLoop, upstream: UpstreamConfig, maxConnections: Int, maxResponseBytes: Int, idleTimeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.upstream = upstream
        self.maxConnections = max(1, maxConnections)
        self.maxWaiting = upstream.maxWaiting
        self.maxResponseBytes = maxResponseBytes
        self.idleTimeout = idleTimeout
        self.bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(Int64(min(upstream.timeoutMillis, 10_000))))
    }

    /// Sends `request` and completes with its result by `deadline`. Never fails the future.
    func execute(_ request: UpstreamRequest, deadline: NIODeadline) -> EventLoopFuture<UpstreamResult> {
        eventLoop.assertInEventLoop()
        let promise = eventLoop.makePromise(of: UpstreamResult.self)
        let exchange = PendingExchange(request: request, promise: promise, started: .now())
        guard !isShutDown else {
            exchange.complete(.failure(.shuttingDown))
            return promise.futureResult
        }
        exchange.timeoutTask = eventLoop.scheduleTask(deadline: deadline) { [weak self, weak exchange] in
            guard let self, let exchange else { return }
            self.timeOut(exchange)
        }
        dispatch(exchange)
        return promise.futureResult
    }

    /// Whether a new exchange would be refused right now (all connections busy and the queue full).
    var isSaturated: Bool {
        idle.isEmpty && openCount >= maxConnections && waiters.count >= maxWaiting
    }

    /// Closes every connection and fails waiting exchanges.
    func shutdown() {
        isShutDown = true
        sweepTask?.cancel()
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
        connectionsOpened += 1
        let handler = UpstreamConnectionHandler()
        bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
        .connect(host: upstream.host, port: upstream.port)
        .whenComplete { [self] result in
            switch result {
            case .success(let channel):
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

    private func timeOut(_ exchange: PendingExchange) {
        guard !exchange.isDone else { return }
        if let connection = exchange.connection {
            exchange.connection = nil
            connection.handler.abandon()
        }
        exchange.complete(.failure(.timeout))
    }

    private func scheduleSweepIfNeeded() {
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
        if error is ChannelError { return "\(error)" }
        return String(describing: error)
    }
}

/// One request making its way through a pool.
/// Confined to its pool's event loop, like the pool.
private final class PendingExchange: @unchecked Sendable {
    let request: UpstreamRequest
    let promise: EventLoopPromise<UpstreamResult>
    let started: NIODeadline
    var timeoutTask: Scheduled<Void>?
    var connection: UpstreamConnection?
    var retried = false
    private(set) var isDone = false

    init(request: UpstreamRequest, promise: EventLoopPromise<UpstreamResult>, started: NIODeadline) {
        self.request = request
        self.promise = promise
        self.started = started
    }

    func complete(_ result: Result<UpstreamResponse, UpstreamFailure>) {
        guard !isDone else { return }
        isDone = true
        timeoutTask?.cancel()
        timeoutTask = nil
        let micros = (NIODeadline.now() - started).nanoseconds / 1000
        switch result {
        case .success(let response):
            promise.succeed(UpstreamResult(response: response, failure: nil, latencyMicros: micros))
        case .failure(let failure):
            promise.succeed(UpstreamResult(response: nil, failure: failure, latencyMicros: micros))
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
