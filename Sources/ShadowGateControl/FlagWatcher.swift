import Foundation
import LibPQ
import Logging
import Metrics
import ShadowGateRouting

/// Keeps a gateway's live flags equal to `shadowgate.flags`.
///
/// Promises: a change committed anywhere reaches ``apply`` within a second — at once through
/// `LISTEN shadowgate_flags`, and at the latest after `refresh` through a periodic re-read, which
/// also covers notifications lost while disconnected. A lost connection is re-made with backoff
/// (0.25 s doubling up to 5 s); until then the gateway keeps serving with the flags it has. Runs
/// on a thread of its own; ``stop()`` returns once that thread has ended. Exports
/// `shadowgate_route_canary_percent{route}` and `shadowgate_route_mode{route,mode}` (1 for the current mode).
public final class FlagWatcher: Sendable {
    public static let channel = "shadowgate_flags"

    private let connectionString: String
    private let refresh: Duration
    private let logger: Logger
    private let apply: @Sendable ([FlagRecord]) -> Void
    private let thread = BlockingExecutor(name: "shadowgate-flags")

    /// - Parameter apply: called with every route's flags after each read (the first read
    ///   included), from the watcher's thread.
    public init(
        connectionString: String, refresh: Duration = .seconds(5), logger: Logger,
        apply: @escaping @Sendable ([FlagRecord]) -> Void
    ) {
        self.connectionString = connectionString
        self.refresh = refresh
        self.logger = logger
        self.apply = apply
    }

    public func start() {
        thread.execute { [self] in run(thread) }
    }

    public func stop() {
        thread.shutdownAndWait()
    }

    private func run(_ thread: BlockingExecutor) {
        var backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(5))
        var connection: PGConnection?
        var lastRead = ContinuousClock.now
        var outageLogged = false
        while !thread.isShuttingDown {
            do {
                if connection == nil {
                    let fresh = try PGConnection(connectionString: connectionString, applicationName: "shadowgate-flags")
                    try fresh.listen(Self.channel)
                    connection = fresh
                    try read(fresh)
                    lastRead = .now
                    backoff.reset()
                    if outageLogged { logger.notice("flag watcher reconnected") }
                    outageLogged = false
                }
                guard let connection else { continue }
                // Short waits so stop() is honoured promptly.
                let notifications = try connection.waitForNotifications(timeout: .milliseconds(200))
                if !notifications.isEmpty || ContinuousClock.now - lastRead >= refresh {
                    try read(connection)
                    lastRead = .now
                }
            } catch {
                connection?.close()
                connection = nil
                if !outageLogged {
                    logger.warning("flag watcher lost PostgreSQL; serving with the last flags and reconnecting", metadata: ["error": "\(error)"])
                    outageLogged = true
                }
                thread.sleep(backoff.next())
            }
        }
        connection?.close()
    }

    private func read(_ connection: PGConnection) throws {
        let records = try FlagStore(connection: connection).all()
        apply(records)
        for record in records {
            Gauge(label: "shadowgate_route_canary_percent", dimensions: [("route", record.route)]).record(record.flags.canaryPercent)
            for mode in RouteMode.allCases {
                Gauge(label: "shadowgate_route_mode", dimensions: [("route", record.route), ("mode", mode.rawValue)])
                    .record(mode == record.flags.mode ? 1 : 0)
            }
        }
    }
}
