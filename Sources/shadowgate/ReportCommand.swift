import ArgumentParser
import Foundation
import LibPQ
import ShadowGatePromotion
import ShadowGateReport

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Compare the two models of a route over a recent window (reads shadowgate.compare()).",
        discussion: """
            --format html writes one self-contained page (summary, charts over time, rollout \
            decisions) to --output and prints its path.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, html
    }

    @OptionGroup var options: ConfigOptions

    @Option(help: "Route name.")
    var route: String

    @Option(help: "Window to compare, as a PostgreSQL interval: 1h, 30min, '2 days'.")
    var since: String = "1h"

    @Option(help: "table (aligned, for people), json (one object, for scripts) or html (a page with charts; needs --output).")
    var format: Format = .table

    @Option(help: "html: the file to write (replaced atomically).")
    var output: String?

    @Option(help: "html: width of a chart bucket as a PostgreSQL interval (default: 30–100 buckets over the window).")
    var bucket: String?

    @OptionGroup var database: DatabaseURLOption

    func validate() throws {
        if format == .html, output == nil {
            throw ValidationError("--format html writes a file: name it with --output FILE")
        }
        if format != .html, output != nil || bucket != nil {
            throw ValidationError("--output and --bucket are for --format html; table and json go to standard output")
        }
    }

    func run() async throws {
        options.bootstrapLogging()
        let url = try options.databaseURL(explicit: database.databaseURL, purpose: "read")
        if format == .html, let output {
            try await writeHTML(url: url, to: output)
            return
        }
        let route = route
        let since = since
        let (text, labels) = try await withDatabase(url: url, applicationName: Self.applicationName) { connection in
            let result: PGResult
            do {
                result = try connection.execute("SELECT * FROM shadowgate.compare($1, $2::interval)", [route, since])
            } catch {
                throw CommandFailure("comparing route '\(route)' over '\(since)' failed", cause: error)
            }
            var values: [String: String?] = [:]
            for column in ComparisonReport.columns { values[column] = result.value(column) }
            return (values, LabelCoverageLine.load(route: route, since: since, from: connection))
        }
        let report = ComparisonReport(route: route, since: since, text: text)
        print(format == .json ? report.renderJSON() : report.renderTable() + (labels.map { $0 + "\n" } ?? ""), terminator: "")
    }

    /// Reads the report's data off the cooperative pool, renders it, replaces `path` in one step
    /// (a reader never sees half a page), and prints the file's absolute path.
    private func writeHTML(url: String, to path: String) async throws {
        let query = ReportQuery(route: route, since: since, bucket: bucket)
        let data = try await withDatabase(url: url, applicationName: Self.applicationName) { connection in
            do {
                return try query.load(from: connection)
            } catch {
                throw CommandFailure(error)
            }
        }
        let file = URL(fileURLWithPath: path)
        do {
            try Data(HTMLReport(data).render().utf8).write(to: file, options: .atomic)
        } catch {
            throw CommandFailure("cannot write the report to '\(path)': \((error as NSError).localizedDescription)")
        }
        print(file.standardizedFileURL.path)
    }

    private static let applicationName = "shadowgate-report"
}
