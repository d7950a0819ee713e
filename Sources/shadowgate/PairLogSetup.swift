import Logging
import ShadowGateConfig
import ShadowGatePairLog

/// The pair log a `serve` run writes to: the configured database, or a private embedded cluster.
struct PairLogSetup {
    let writer: PairLogWriter
    /// Set when the gateway started its own cluster; stopped after the writer has flushed.
    let embedded: EmbeddedPostgres?
    let connectionString: String

    /// Connects (starting the embedded cluster when no URL is configured), applies migrations, makes the writer.
    static func make(config: GatewayConfig, migrationsDirectory: String?, logger: Logger) async throws -> PairLogSetup {
        var embedded: EmbeddedPostgres?
        let url: String
        if let configured = ConfigOptions.databaseURL(config) {
            url = configured
        } else {
            let cluster = try EmbeddedPostgres(dataDirectory: config.database.embeddedDataDir, logger: logger)
            url = try await blockingWork.run { try cluster.start() }
            embedded = cluster
            logger.notice("no database.url: started the embedded PostgreSQL cluster", metadata: [
                "data_dir": "\(cluster.dataDirectory)", "connect": "psql '\(url)'",
            ])
        }
        do {
            // Migrations hold a session lock: through the control (direct) connection when there is one.
            let migrateURL = try ServePreflight.controlURL(config, pairLogURL: url)
            let applied = try await blockingWork.run { try MigrationRunner(directory: migrationsDirectory, logger: logger).migrate(connectionString: migrateURL) }
            if !applied.isEmpty { logger.notice("applied \(applied.count) migration(s)") }
            let writer = try PairLogWriter(connectionString: url, config: config.database, logger: logger)
            return PairLogSetup(writer: writer, embedded: embedded, connectionString: url)
        } catch {
            if let embedded { try? await blockingWork.run { try embedded.stop() } }
            throw error
        }
    }

    /// Stops the embedded cluster, if this run started one.
    func stopEmbedded(logger: Logger) async {
        guard let embedded else { return }
        do {
            try await blockingWork.run { try embedded.stop() }
        } catch {
            logger.error("stopping the embedded PostgreSQL cluster failed: \(error)")
        }
    }
}
