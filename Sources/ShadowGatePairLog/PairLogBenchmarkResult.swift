/// What ``PairLogBenchmark/runWriterBenchmark(connectionString:rows:config:)`` measured.
public struct PairLogBenchmarkResult: Sendable, Hashable, CustomStringConvertible {
    /// Rows submitted.
    public var rows: Int
    /// Rows found in `shadowgate.pairs` afterwards (should equal `rows`).
    public var rowsInTable: Int
    /// From the first `submit` until every row was committed.
    public var seconds: Double
    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
    /// Average COPY text bytes per row.
    public var bytesPerRow: Double
    /// Time to build the records in memory (not part of `seconds`).
    public var generateSeconds: Double
    /// The writer's counters at the end (spooled/dropped should be 0 on a healthy server).
    public var statistics: PairLogStatistics

    public var description: String {
        let rate = Int(rowsPerSecond.rounded())
        return "writer: \(rows) rows in \(String(format: "%.2f", seconds)) s = \(rate) rows/s "
            + "(\(Int(bytesPerRow)) B/row, rows in table \(rowsInTable), batches \(statistics.batches), "
            + "spooled \(statistics.pairs.spooled), dropped \(statistics.pairs.dropped), COPY busy \(String(format: "%.2f", statistics.copySeconds)) s)"
    }
}
