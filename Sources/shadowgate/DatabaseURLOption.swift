import ArgumentParser

/// `--database-url`, declared once for every command that talks to PostgreSQL.
struct DatabaseURLOption: ParsableArguments {
    @Option(help: """
        PostgreSQL URL or libpq connection string. Default: database.url from the config, then \
        SHADOWGATE_DATABASE_URL, then the embedded cluster a running gateway started (bench-writer needs it given).
        """)
    var databaseURL: String?
}
