import Foundation
import ArgumentParser
import Logging
import ServiceLifecycle
import ShadowGateAdmin
import ShadowGateControl
import ShadowGateFeedback
import ShadowGateGRPC
import ShadowGatePairLog
import ShadowGatePairRecord
import ShadowGateProxy
import ShadowGateTLS

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway until SIGTERM or SIGINT, then drain, flush the pair log and exit 0.",
        discussion: """
            Pairs go to database.url (or SHADOWGATE_DATABASE_URL). With neither, the gateway starts a \
            private PostgreSQL cluster in database.embedded_data_dir and stops it on exit. Migrations \
            are applied at start-up. Flags come from shadowgate.flags (the config seeds a route's row the \
            first time); the admin API listens on admin.listen with the token in SHADOWGATE_ADMIN_TOKEN.
            """)

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Discard pair records instead of writing them to PostgreSQL (proxy benchmarks, legacy-only use).")
    var noPairLog = false

    @Option(help: "Migrations directory (numbered files, functions/) overriding the copy built into the binary (also SHADOWGATE_MIGRATIONS_DIR).")
    var migrations: String?

    func run() async throws {
        let config = try options.loadConfig()
        options.bootstrapLogging(format: config.logFormat)
        let logger = Logger(label: "shadowgate")
        // Certificate files are checked before anything starts; a problem names its config key.
        let tls: GatewayTLS
        do {
            tls = try GatewayTLS(config: config)
        } catch {
            throw CommandFailure("\(options.config): \(error)")
        }
        let tlsReload = TLSReloadSignal.start(tls, logger: logger)
        defer { tlsReload.stop() }
        // Every check of the config and the environment comes before the first side effect.
        try await ServePreflight(config: config, migrationsDirectory: migrations, pairLog: !noPairLog).run(logger: logger)
        let registry = MetricsBootstrap.prometheus()

        var pairLog: PairLogSetup?
        var labels: LabelIntake?
        var deliverer: LabelDeliverer?
        let sink: any PairRecordSink
        if noPairLog {
            sink = DiscardingPairSink()
            logger.notice("pair log off (--no-pair-log): pair records are discarded")
        } else {
            let setup = try await PairLogSetup.make(config: config, migrationsDirectory: migrations, logger: logger)
            pairLog = setup
            sink = setup.writer
            labels = LabelIntake(writer: setup.writer)
        }
        let flags = RouteFlagsStore(routes: config.routes)
        var control: RolloutControl?
        if let pairLog {
            // Flags, the controller and the deliverer hold session state (LISTEN, leader locks): the direct connection.
            let controlURL: String
            do {
                controlURL = try ServePreflight.controlURL(config, pairLogURL: pairLog.connectionString)
                control = try await RolloutControl.start(
                    config: config, connectionString: controlURL,
                    watcherConnectionString: try ServePreflight.flagWatcherURL(config, pairLogURL: pairLog.connectionString),
                    flags: flags, logger: logger, adminTLS: tls.admin)
            } catch {
                await pairLog.stopEmbedded(logger: logger)
                throw error
            }
            deliverer = LabelDeliverer(
                connectionString: controlURL, routes: config.routes, config: config.feedback,
                retentionDays: config.database.retentionDays,
                identity: "deliverer:\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)", logger: logger)
            deliverer?.start()
        } else if config.adminListen != nil {
            logger.warning("admin.listen is ignored with --no-pair-log: flags live in PostgreSQL")
        }
        let server = GatewayServer(
            config: config, sink: sink, feedback: labels, flags: flags, logger: logger, tls: tls,
            renderMetrics: { registry.emitToString() })
        // Services shut down in reverse order: the server drains first, then the writer flushes what it was handed.
        var services: [any Service] = []
        if let pairLog { services.append(pairLog.writer) }
        services.append(server)
        if config.grpc != nil {
            do {
                services.append(try GRPCServer(gateway: config, flags: flags, sink: sink, listenerTLS: tls.grpcListener, logger: logger))
            } catch {
                throw CommandFailure("\(options.config): \(error)")
            }
        }
        if let admin = control?.admin { services.append(admin) }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            control?.stop()
            deliverer?.stop()
            await pairLog?.stopEmbedded(logger: logger)
            throw error
        }
        control?.stop()
        deliverer?.stop()
        if let writer = pairLog?.writer {
            let stats = writer.statistics
            logger.notice("pair log flushed", metadata: ["statistics": "\(stats)"])
        }
        await pairLog?.stopEmbedded(logger: logger)
    }
}
