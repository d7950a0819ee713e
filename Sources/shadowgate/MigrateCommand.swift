import ArgumentParser
import Logging
import ShadowGatePairLog

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (safe to run twice, or from two processes at once).")

    @OptionGroup var options: ConfigOptions

    @OptionGroup var database: DatabaseURLOption

    @Option(help: "Migrations directory (numbered files, functions/) overriding the copy built into the binary (also SHADOWGATE_MIGRATIONS_DIR).")
    var migrations: String?

    func run() async throws {
        options.bootstrapLogging()
        let url = try options.databaseURL(
            explicit: database.databaseURL, purpose: "migrate", hint: " (the embedded cluster is migrated by 'shadowgate serve' itself)")
        let directory = migrations
        let applied = try await blockingWork.run { try MigrationRunner(directory: directory).migrate(connectionString: url) }
        if applied.isEmpty {
            print("database is up to date")
        } else {
            for migration in applied { print("applied \(String(format: "%04d", migration.version))_\(migration.name)") }
        }
    }
}
