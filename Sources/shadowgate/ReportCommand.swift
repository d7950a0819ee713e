import ArgumentParser
import LibPQ
import ShadowGateCore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Compare the two models of a route over a recent window (reads shadowgate.compare()).")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var options: ConfigOptions

    @Option(help: "Route name.")
    var route: String

    @Option(help: "Window to compare, as a PostgreSQL interval: 1h, 30min, '2 days'.")
    var since: String = "1h"

    @Option(help: "table (aligned, for people) or json (one object, for scripts).")
    var format: Format = .table

    @Option(help: "Database URL (default: database.url from the config, then SHADOWGATE_DATABASE_URL).")
    var databaseURL: String?

    func run() async throws {
        let url = try options.databaseURL(explicit: databaseURL, purpose: "read")
        let route = route
        let since = since
        let text: [String: String?] = try await onDedicatedThread {
            let connection = try PGConnection(connectionString: url, applicationName: "shadowgate-report")
            defer { connection.close() }
            let result: PGResult
            do {
                result = try connection.execute("SELECT * FROM shadowgate.compare($1, $2::interval)", [route, since])
            } catch {
                throw CommandFailure("comparing route '\(route)' over '\(since)' failed: \(error)")
            }
            var values: [String: String?] = [:]
            for column in ComparisonReport.columns { values[column] = result.value(column) }
            return values
        }
        let report = ComparisonReport(route: route, since: since, text: text)
        print(format == .json ? report.renderJSON() : report.renderTable(), terminator: "")
    }
}
