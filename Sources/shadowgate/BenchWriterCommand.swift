import ArgumentParser
import ShadowGateConfig
import ShadowGatePairLog

struct BenchWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-writer",
        abstract: "Benchmark the pair-log writer alone: write synthetic pairs with batched COPY and report rows/s.",
        discussion: """
            Empties shadowgate.pairs first and afterwards: point it at a throwaway database with the \
            migrations applied (Scripts/benchmarks/writer/bench_copy.sh does, and times psql \\copy of the same rows).
            """)

    @OptionGroup var database: DatabaseURLOption

    @Option(help: "Rows to write.")
    var rows: Int = 500_000

    @Option(help: "Rows per COPY batch.")
    var batchRows: Int = 5000

    @Option(help: "Index of the first synthetic row (several writers at once use disjoint ranges).")
    var firstRow: Int = 0

    @Flag(help: "Neither empty the tables before nor after (several writers share the database).")
    var keepTables = false

    func validate() throws {
        guard database.databaseURL != nil else {
            throw ValidationError("bench-writer empties shadowgate.pairs: name a throwaway database with --database-url")
        }
        guard rows > 0 else { throw ValidationError("--rows must be positive") }
        guard batchRows > 0 else { throw ValidationError("--batch-rows must be positive") }
    }

    func run() async throws {
        var config = DatabaseConfig()
        config.batchRows = batchRows
        config.spoolDir = FileManagerTemporary.directory(prefix: "shadowgate-bench-spool")
        let url = database.databaseURL ?? ""
        let rows = rows
        let settings = config
        let (firstRow, keepTables) = (firstRow, keepTables)
        let result = try await blockingWork.run {
            try PairLogBenchmark.runWriterBenchmark(
                connectionString: url, rows: rows, config: settings, firstRow: firstRow, keepTables: keepTables)
        }
        print(result)
    }
}
