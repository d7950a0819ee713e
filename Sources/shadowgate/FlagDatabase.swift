import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LibPQ
import ShadowGateControl
import ShadowGatePromotion
import ShadowGateRouting

/// The database and configuration the flag commands (`flags`, `promote`, `rollback`, `rollout`) share.
struct FlagDatabaseOptions: ParsableArguments {
    @OptionGroup var config: ConfigOptions

    @OptionGroup var database: DatabaseURLOption

    /// Runs `body` with a connection, on a thread of its own; database errors become one sentence.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        config.bootstrapLogging()
        let url = try config.databaseURL(explicit: database.databaseURL, purpose: "change flags on")
        return try await withDatabase(url: url, applicationName: "shadowgate-cli",
                                      connectFailure: { CommandFailure("cannot reach the flag database", cause: $0) }, body)
    }

    /// The route's comparison window for the metrics recorded with a change: its promotion window, else 1 h.
    func window(route: String) -> Duration {
        ((try? config.loadConfig())?.routes.first { $0.name == route }?.promotion?.window) ?? .seconds(3600)
    }

    /// `cli:USER@HOST`.
    var actor: String {
        let environment = ProcessInfo.processInfo.environment
        let account = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        return FlagActor.cli(user: environment["SUDO_USER"] ?? environment["USER"] ?? account ?? "uid \(getuid())",
                             host: ProcessInfo.processInfo.hostName)
    }

    /// Changes a route's flags with an audit row and prints the outcome.
    func change(route: String, mode: RouteMode, percent: Double, action: RolloutAction, reason: String) async throws {
        let change = FlagStore.Change(mode: mode, canaryPercent: percent, actor: actor, action: action, reason: reason,
                                      window: window(route: route))
        let record = try await withConnection { connection in
            let store = FlagStore(connection: connection)
            let before = try store.get(route: route)
            let after = try store.change(route: route, change)
            return (before, after)
        }
        let from = record.0.map { $0.flags.summary } ?? "nothing"
        print("route '\(route)': \(from) → \(record.1.flags.summary) (revision \(record.1.revision)); every gateway applies it within a second")
    }
}

/// How the flag commands print flags.
enum FlagTable {
    static func render(_ records: [FlagRecord]) -> String {
        var rows = [["route", "mode", "canary", "shadow", "revision", "updated", "by", "reason"]]
        for record in records {
            rows.append([
                record.route, record.flags.mode.rawValue, record.flags.canaryPercent.formattedShortPercent,
                record.flags.shadowPercent.formattedShortPercent, String(record.revision),
                timestamp(record.updatedAt), record.updatedBy, record.reason,
            ])
        }
        return aligned(rows)
    }

    static func aligned(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == columns - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func timestamp(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss'Z'"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
