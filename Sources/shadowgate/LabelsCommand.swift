import ArgumentParser
import Foundation
import LibPQ
import ShadowGateFeedback

struct LabelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labels",
        abstract: "Work with ground-truth labels in shadowgate.labels.",
        subcommands: [LabelsImportCommand.self])
}

struct LabelsImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load labels from a CSV or JSON-lines file with COPY; the learners get them like posted feedback.",
        discussion: """
            CSV: request_id,label or request_id,index,label (a header line naming the columns is \
            optional). JSON lines: {"request_id": "...", "index": 0, "label": 1} per line, index \
            optional. A later line for the same request and row wins; a label already stored with \
            another value is replaced. The whole file is checked before anything is written. \
            Progress goes to standard error; the summary to standard output.
            """)

    @OptionGroup var options: ConfigOptions

    @Argument(help: "The labels file (.csv, .jsonl; '-' for standard input with --format).")
    var file: String

    @Option(help: "csv or jsonl (default: from the file's extension).")
    var format: String?

    @Option(help: "Database URL (default: database.url from the config, then SHADOWGATE_DATABASE_URL).")
    var databaseURL: String?

    func run() async throws {
        let url = try options.databaseURL(explicit: databaseURL, purpose: "import labels into")
        let fileFormat: LabelFileParser.Format
        if let name = self.format {
            guard let f = LabelFileParser.Format(rawValue: name.lowercased()) else {
                throw ValidationError("--format must be csv or jsonl, got '\(name)'")
            }
            fileFormat = f
        } else if let f = LabelFileParser.format(forPath: file) {
            fileFormat = f
        } else {
            throw ValidationError("cannot tell the format of '\(file)' from its name: add --format csv or --format jsonl")
        }
        let bytes: [UInt8]
        do {
            bytes = file == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile())
                : Array(try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped))
        } catch {
            throw CommandFailure("cannot read '\(file)': \((error as NSError).localizedDescription)")
        }
        let summary = try await withDatabase(url: url, applicationName: "shadowgate-labels-import", connectFailure: { error in
            CommandFailure("cannot connect to PostgreSQL to import labels: \(error)")
        }) { connection in
            let started = Date()
            var lastReport = started
            do {
                return try LabelImporter().run(bytes: bytes, format: fileFormat, connection: connection) { done, total in
                    let now = Date()
                    guard now.timeIntervalSince(lastReport) >= 1 || (done == total && now.timeIntervalSince(started) >= 1) else { return }
                    lastReport = now
                    let rate = Double(done) / max(now.timeIntervalSince(started), 0.001)
                    FileHandle.standardError.write(Data("labels import: \(done) of \(total) labels (\(Int(rate)) labels/s)\n".utf8))
                }
            } catch let error as LabelFileError {
                throw CommandFailure("'\(file)' \(error); nothing was imported")
            } catch {
                throw CommandFailure("importing labels failed: \(error)")
            }
        }
        let rate = Double(summary.labels) / max(summary.seconds, 0.001)
        print("imported \(summary.labels) labels (\(summary.written) new or changed) in \(String(format: "%.2f", summary.seconds)) s, \(Int(rate)) labels/s")
    }
}
