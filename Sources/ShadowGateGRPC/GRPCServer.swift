import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import ServiceLifecycle
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateProxy
import ShadowGateRouting
import ShadowGateTLS
import Synchronization

/// The gRPC listener (`grpc.listen`): HTTP/2 with prior knowledge (h2c) on a plain port, or h2
/// over TLS (ALPN `h2`) with `grpc.tls`, in front of the gRPC routes' upstreams, as a ``Service``.
///
/// It shares the HTTP listener's route flags and pair sink, so gRPC pairs land in the same routes
/// and columns as REST ones. On shutdown it stops accepting and closes its connections.
public final class GRPCServer: Service, Sendable {
    private let config: GRPCConfig
    private let group: MultiThreadedEventLoopGroup
    private let dispatcher: GRPCDispatcher
    private let loops: [ObjectIdentifier: GRPCLoopUpstreams]
    private let listenerTLS: ListenerTLS?
    private let logger: Logger
    private let channel = Mutex<Channel?>(nil)
    private let stopped = Mutex(false)

    /// - Parameter listenerTLS: the listener's TLS as loaded (and reloaded) elsewhere
    ///   (``GatewayTLS/grpcListener``); nil: loaded here from `grpc.tls`.
    /// - Throws: ``ConfigError`` when a certificate file of `grpc` is missing, unreadable or expired.
    public init(
        gateway: GatewayConfig, flags: RouteFlagsStore, sink: any PairRecordSink, listenerTLS: ListenerTLS? = nil,
        logger: Logger = Logger(label: "shadowgate.grpc")
    ) throws(ConfigError) {
        guard let config = gateway.grpc else { throw ConfigError(key: "grpc", problem: "is not configured") }
        self.config = config
        self.logger = logger
        if let listenerTLS {
            self.listenerTLS = listenerTLS
        } else {
            self.listenerTLS = try config.tls.map { tls throws(ConfigError) in try ListenerTLS(config: tls, alpn: ["h2"]) }
        }
        var upstreamTLS: [[ModelRole: UpstreamTLSContext]] = []
        for (index, route) in config.routes.enumerated() {
            var byRole: [ModelRole: UpstreamTLSContext] = [:]
            for role in ModelRole.allCases {
                guard var upstream = role == .legacy ? route.legacy : route.learner, var tls = upstream.tls else { continue }
                if tls.configKey == "tls" { tls.configKey = "grpc.routes[\(index)].\(role.rawValue).tls" }
                upstream.tls = tls
                byRole[role] = try UpstreamTLSContext(upstream: upstream, alpn: ["h2"])
            }
            upstreamTLS.append(byRole)
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: gateway.eventLoops)
        var loops: [ObjectIdentifier: GRPCLoopUpstreams] = [:]
        let all = Array(group.makeIterator())
        for loop in all {
            loops[ObjectIdentifier(loop)] = GRPCLoopUpstreams(
                eventLoop: loop, config: config, loopCount: all.count,
                maxResponseBytes: config.maxMessageBytes + 5, tls: upstreamTLS)
        }
        self.loops = loops
        dispatcher = GRPCDispatcher(config: config, gateway: gateway, flags: flags, sink: sink, loops: loops)
    }

    /// Binds the listener; returns the bound address (useful with port 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let dispatcher = self.dispatcher
        let listenerTLS = self.listenerTLS
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let listenerTLS { try channel.pipeline.syncOperations.addHandler(listenerTLS.makeHandler()) }
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(GRPCServerStreamHandler(dispatcher: dispatcher))
                        }
                    }
                }
            }
            .bind(host: config.listen.host, port: config.listen.port).get()
        channel.withLock { $0 = bound }
        logger.info("gRPC listening", metadata: ["address": "\(bound.localAddress.map { "\($0)" } ?? "?")", "tls": "\(listenerTLS != nil)"])
        return bound.localAddress!
    }

    public func run() async throws {
        do {
            if channel.withLock({ $0 }) == nil { try await start() }
        } catch {
            await shutdown()
            throw error
        }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes the listener (if bound) and its connections, then releases the event loops, which
    /// `init` made: also when ``start()`` was never called or failed. Idempotent.
    public func shutdown() async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        let bound = channel.withLock { current -> Channel? in defer { current = nil }; return current }
        try? await bound?.close()
        for upstreams in loops.values {
            try? await upstreams.eventLoop.submit { upstreams.shutdown() }.get()
        }
        try? await group.shutdownGracefully()
    }
}
