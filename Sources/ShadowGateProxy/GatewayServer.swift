import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateTLS
import Synchronization

/// The client-facing HTTP listener and everything behind it, as a long-lived ``Service``.
///
/// Promises on shutdown (graceful shutdown signal or ``shutdown()``): `/readyz` turns 503 at once
/// while `/healthz` keeps answering 200 — the listener keeps accepting during the drain, so probes
/// (and requests from a balancer that has not noticed yet) are answered, each on a connection closed
/// after its answer. Every open connection finishes the requests it has already received. Once no
/// connection is open, or `drainTimeout` has passed (then the rest are closed), the listener closes;
/// then it waits for the shadow exchanges and pair records (each bounded by its upstream timeout) and
/// closes its upstream connections and event loops.
public final class GatewayServer: Service, Sendable {
    public let config: GatewayConfig
    public let flags: RouteFlagsStore
    public let metrics: GatewayMetrics
    private let context: GatewayContext
    private let group: MultiThreadedEventLoopGroup
    private let loops: [ObjectIdentifier: LoopUpstreams]
    private let logger: Logger
    private let drainTimeout: TimeAmount
    private let state = Mutex<State>(State())
    /// TLS contexts, or the configuration problem that ``start()`` reports.
    private let tls: Result<GatewayTLS, ConfigError>

    private struct State {
        var serverChannel: Channel?
        var connections: [ObjectIdentifier: Channel] = [:]
        var stopped = false
        /// Set when the drain ends: connections accepted after it are closed at once.
        var listenerClosed = false
        /// The drain, waiting for the last connection to close.
        var drainWaiter: CheckedContinuation<Void, Never>?
        var finished = false
    }

    public init(
        config: GatewayConfig,
        sink: any PairRecordSink,
        feedback: (any FeedbackStore)? = nil,
        flags: RouteFlagsStore? = nil,
        logger: Logger = Logger(label: "shadowgate.server"),
        drainTimeout: TimeAmount = .seconds(30),
        tls: GatewayTLS? = nil,
        renderMetrics: @escaping @Sendable () -> String = { "" }
    ) {
        let tls = tls.map { Result<GatewayTLS, ConfigError>.success($0) } ?? Result { () throws(ConfigError) in try GatewayTLS(config: config) }
        self.tls = tls
        self.config = config
        self.flags = flags ?? RouteFlagsStore(routes: config.routes)
        self.metrics = GatewayMetrics(routes: config.routes.map(\.name))
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: config.eventLoops)
        self.context = GatewayContext(config: config, flags: self.flags, sink: sink, feedback: feedback, metrics: self.metrics, renderMetrics: renderMetrics, logger: logger)
        var loops: [ObjectIdentifier: LoopUpstreams] = [:]
        let all = Array(group.makeIterator())
        for loop in all {
            loops[ObjectIdentifier(loop)] = LoopUpstreams(
                eventLoop: loop, config: config, loopCount: all.count, tls: (try? tls.get())?.upstreams ?? [])
        }
        self.loops = loops
    }

    /// Binds the listener. Returns the bound address (useful with port 0).
    ///
    /// - Throws: ``ConfigError`` when a certificate file the configuration names is missing,
    ///   unreadable or expired; the bind's error when the address is taken. A start that throws has
    ///   released the event loops already (``isStopped`` is true): the server is not started again.
    @discardableResult
    public func start() async throws -> SocketAddress {
        do {
            return try await bind()
        } catch {
            await shutdown()
            throw error
        }
    }

    private func bind() async throws -> SocketAddress {
        let context = self.context
        let loops = self.loops
        let listenerTLS = try tls.get().listener
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.maxMessagesPerRead, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let upstreams = loops[ObjectIdentifier(channel.eventLoop)] else {
                        throw ChannelError.ioOnClosedChannel
                    }
                    self?.register(channel)
                    if let listenerTLS {
                        try ClientChannelPipeline.configureTLS(channel, tls: listenerTLS, gateway: context, upstreams: upstreams)
                    } else {
                        try ClientChannelPipeline.configureHTTP1(channel, gateway: context, upstreams: upstreams)
                    }
                }
            }
        let channel = try await bootstrap.bind(host: config.listen.host, port: config.listen.port).get()
        state.withLock { $0.serverChannel = channel }
        logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "routes": "\(config.routes.map(\.name))"])
        return channel.localAddress!
    }

    /// Mirrored exchanges whose pair is not recorded yet (never negative).
    public var inFlightCount: Int { context.inFlight.count }

    /// True once ``shutdown()`` has finished draining and released the event loops.
    public var isStopped: Bool { state.withLock { $0.finished } }

    /// Re-reads the client listener's certificate files now (new connections get them); without
    /// `tls`, nothing. On failure the previous certificate stays in use.
    public func reloadListenerCertificate() throws(ConfigError) {
        try tls.get().listener?.reload()
    }

    /// The bound address, once started.
    public var localAddress: SocketAddress? { state.withLock { $0.serverChannel?.localAddress } }

    /// Starts (if needed), serves until graceful shutdown or cancellation, then drains.
    public func run() async throws {
        if localAddress == nil { try await start() }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Drains connections (accepting new ones, answered and closed, until no connection is open or the
    /// drain deadline passes), stops accepting, waits for in-flight exchanges, and releases the event loops. Idempotent.
    public func shutdown() async {
        // Before the snapshot: a connection accepted after it sees the flag on its first request head.
        context.isDraining = true
        let (server, connections, alreadyStopped) = state.withLock { state in
            defer { state.stopped = true }
            return (state.serverChannel, Array(state.connections.values), state.stopped)
        }
        guard !alreadyStopped else { return }
        logger.info("draining", metadata: ["connections": "\(connections.count)", "in_flight": "\(context.inFlight.count)"])
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        // Connections close themselves once their queued requests are answered. The listener stays
        // open meanwhile so liveness probes pass during the drain (its new connections close after one answer).
        let deadline = NIODeadline.now() + drainTimeout
        let wake = group.next().scheduleTask(deadline: deadline) { [weak self] in self?.resumeDrainWaiter() }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let drained = state.withLock { state -> Bool in
                // The deadline's timer may have fired before the waiter was stored.
                if state.connections.isEmpty || NIODeadline.now() >= deadline { return true }
                state.drainWaiter = waiter
                return false
            }
            if drained { waiter.resume() }
        }
        wake.cancel()
        let stragglers = state.withLock { state in
            state.listenerClosed = true
            return Array(state.connections.values)
        }
        try? await server?.close()
        for connection in stragglers {
            connection.close(promise: nil)
            try? await connection.closeFuture.get()
        }
        // Every exchange is bounded by its upstream timeout, so this ends; the deadline is a second bound.
        let release = group.next().scheduleTask(deadline: deadline + .seconds(5)) { [context] in context.inFlight.releaseWaiters() }
        await context.inFlight.waitUntilIdle()
        release.cancel()
        if context.inFlight.count > 0 {
            logger.warning("drain deadline passed with exchanges in flight", metadata: ["in_flight": "\(context.inFlight.count)"])
        }
        for upstreams in loops.values {
            try? await upstreams.eventLoop.submit { upstreams.shutdown() }.get()
        }
        try? await group.shutdownGracefully()
        state.withLock { $0.finished = true }
        logger.info("stopped")
    }

    private func register(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        let maxConnections = config.limits.maxConnections
        var overLimit = false
        let rejected = state.withLock { state -> Bool in
            if state.listenerClosed { return true }
            if state.connections.count >= maxConnections {
                overLimit = true
                return true
            }
            state.connections[id] = channel
            return false
        }
        if rejected {
            if overLimit { metrics.error(kind: "connection_limit") }
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            let waiter = self?.state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.connections.removeValue(forKey: id)
                guard state.connections.isEmpty else { return nil }
                defer { state.drainWaiter = nil }
                return state.drainWaiter
            }
            waiter?.resume()
        }
    }

    private func resumeDrainWaiter() {
        let waiter = state.withLock { state in
            defer { state.drainWaiter = nil }
            return state.drainWaiter
        }
        waiter?.resume()
    }
}
