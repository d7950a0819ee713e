import ArgumentParser
import Logging
import ServiceLifecycle
import ShadowGateCore
import ShadowGatePairLog
import ShadowGateProxy

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway until SIGTERM or SIGINT, then drain and exit 0.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Discard pair records instead of writing them to PostgreSQL (proxy benchmarks, legacy-only use).")
    var noPairLog = false

    func run() async throws {
        let config = try options.loadConfig()
        options.bootstrapLogging()
        let registry = MetricsBootstrap.prometheus()
        let logger = Logger(label: "shadowgate")

        var services: [any Service] = []
        let sink: any PairRecordSink
        if noPairLog {
            sink = DiscardingPairSink()
            logger.notice("pair log off (--no-pair-log): pair records are discarded")
        } else {
            sink = DiscardingPairSink()
        }
        let server = GatewayServer(
            config: config, sink: sink, logger: logger,
            renderMetrics: { registry.emitToString() })
        // Shut down in reverse order: the server drains first, then the sink flushes what the server handed it.
        services.append(server)
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
