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
/// (0.25 s doubling up to 1 s); until then the gateway keeps serving with the flags it has. After a
/// network cut, a flag changed meanwhile arrives within about 3 s of the link coming back when the
/// connection string is made with ``connectionDefaults`` (see there why). Runs
/// on a thread of its own; ``stop()`` returns once that thread has ended. Exports
/// `shadowgate_route_canary_percent{route}` and `shadowgate_route_mode{route,mode}` (1 for the current mode).
public final class FlagWatcher: Sendable {
    public static let channel = "shadowgate_flags"

    /// libpq keywords for the watcher's connection, tighter than ``ControlConnection/defaults``
    /// (pass as `tighter:` to ``ControlConnection/connectionString(_:tighter:)``). The watcher is
    /// stateless — a fresh connection re-reads every flag — so it drops a doubtful connection early:
    /// a refresh unacknowledged for 3 s ends it, instead of TCP's retransmissions (0.2, 0.6, 1.4,
    /// 3, 6.2 s apart) deciding when a link that came back is used again, up to 10 s later. Connect
    /// attempts give up after 2 s (libpq's minimum) and are retried within 1 s, so while a link is down
    /// a SYN leaves at least every 2 s, instead of leaving gaps of up to 3 s plus a 5 s backoff.
    public static let connectionDefaults: [String: String] = ["tcp_user_timeout": "3000", "connect_timeout": "2"]

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
        var backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(1))
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
