import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import ShadowGateConfig
import ShadowGateTLS

/// The admin API's own HTTP listener (`admin.listen`), apart from the data path's.
///
/// Promises: it runs on one event loop of its own, so admin calls never queue behind inference
/// traffic; on graceful shutdown it stops accepting and closes its connections.
public final class AdminServer: Service, Sendable {
    private let address: HostPort
    private let api: AdminAPI
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// `admin.tls`: HTTPS (optionally mTLS) instead of plain HTTP.
    private let tls: ListenerTLS?

    public init(address: HostPort, api: AdminAPI, logger: Logger, tls: ListenerTLS? = nil) {
        self.tls = tls
        self.address = address
        self.api = api
        self.logger = logger
    }

    public func run() async throws {
        let api = self.api
        let tls = self.tls
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeHandler()) }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AdminRequestHandler(api: api))
                    }
                }
                .bind(host: address.host, port: address.port).get()
        } catch {
            // The address is taken or not ours: the event loop must not outlive the failed run.
            try? await group.shutdownGracefully()
            throw error
        }
        logger.info("admin API listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try? await gracefulShutdown()
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
