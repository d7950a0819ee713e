import Foundation
import LibPQ
import Logging
import ShadowGateAdmin
import ShadowGateConfig
import ShadowGateControl
import ShadowGateProxy
import ShadowGateTLS

/// What a `serve` run adds to the data path once it has a database: flags seeded and read from
/// `shadowgate.flags`, the flag watcher, the promotion controller, and the admin API.
struct RolloutControl {
    let watcher: FlagWatcher
    let controller: PromotionController
    let admin: AdminServer?
    let adminDatabase: SerialDatabase?

    static let tokenVariable = "SHADOWGATE_ADMIN_TOKEN"

    /// Seeds the config's flags where the database has none, applies the database's flags before
    /// the first request, then starts the watcher and (if any route has promotion on) the controller.
    /// `watcherConnectionString` (default `connectionString`) is the flag watcher's, see ``FlagWatcher/connectionDefaults``.
    static func start(
        config: GatewayConfig, connectionString: String, watcherConnectionString: String? = nil,
        flags: RouteFlagsStore, logger: Logger, adminTLS: ListenerTLS? = nil
    ) async throws -> RolloutControl {
        var token: String?
        if config.adminListen != nil {
            token = ProcessInfo.processInfo.environment[tokenVariable]
            guard let token, !token.isEmpty else {
                throw CommandFailure("admin.listen is set but \(tokenVariable) is empty: set a bearer token for the admin API, or remove admin.listen")
            }
        }
        let routes = config.routes
        let records = try await withDatabase(url: connectionString, applicationName: "shadowgate-flags") { connection in
            let store = FlagStore(connection: connection)
            let seeded = try store.seed(routes)
            if !seeded.isEmpty { logger.notice("seeded flags from the config file", metadata: ["routes": "\(seeded)"]) }
            return try store.all()
        }
        apply(records, to: flags, logger: logger)
        let watcher = FlagWatcher(connectionString: watcherConnectionString ?? connectionString, logger: logger) { records in
            apply(records, to: flags, logger: logger)
        }
        watcher.start()
        let identity = FlagActor.controller(host: ProcessInfo.processInfo.hostName, pid: ProcessInfo.processInfo.processIdentifier)
        let controller = PromotionController(connectionString: connectionString, routes: routes, identity: identity, logger: logger)
        controller.start()
        var admin: AdminServer?
        var adminDatabase: SerialDatabase?
        if let address = config.adminListen, let token {
            let database = SerialDatabase(connectionString: connectionString, applicationName: "shadowgate-admin")
            admin = AdminServer(address: address, api: AdminAPI(token: token, routes: routes, database: database), logger: logger, tls: adminTLS)
            adminDatabase = database
        }
        return RolloutControl(watcher: watcher, controller: controller, admin: admin, adminDatabase: adminDatabase)
    }

    /// Puts the database's flags into the data path; a route the config does not know is ignored.
    static func apply(_ records: [FlagRecord], to store: RouteFlagsStore, logger: Logger) {
        for record in records {
            guard let current = store.flags(route: record.route), current != record.flags else { continue }
            store.set(route: record.route, to: record.flags)
            logger.notice("flags applied", metadata: [
                "route": "\(record.route)", "mode": "\(record.flags.mode.rawValue)",
                "canary_percent": "\(record.flags.canaryPercent)", "by": "\(record.updatedBy)", "reason": "\(record.reason)",
            ])
        }
    }

    func stop() {
        controller.stop()
        watcher.stop()
        adminDatabase?.shutdown()
    }
}
