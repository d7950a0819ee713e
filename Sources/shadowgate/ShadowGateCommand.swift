import ArgumentParser

@main
struct ShadowGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shadowgate",
        abstract: "A reverse proxy that moves traffic from a legacy ML model to a continuous learner, safely.",
        discussion: """
            The legacy model answers clients; the learner gets every request in shadow; each pair \
            of predictions is logged to PostgreSQL for comparison in SQL.
            """,
        version: ShadowGateVersion.number,
        subcommands: [
            ServeCommand.self, MigrateCommand.self, ReportCommand.self, FlagsCommand.self, PromoteCommand.self,
            RollbackCommand.self, RolloutCommand.self, ConfigCommand.self, BenchWriterCommand.self, LabelsCommand.self,
            VersionCommand.self,
        ],
        defaultSubcommand: nil
    )
}
