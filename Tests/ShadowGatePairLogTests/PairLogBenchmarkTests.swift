import Foundation
import LibPQ
import ShadowGateConfig
import ShadowGatePairLog
import ShadowGateTesting
import Testing

@Suite struct PairLogBenchmarkTests {
    /// `Scripts/benchmarks/writer/bench_rows.sql` (what `psql \copy` loads) and `PairLogBenchmark.record` (what
    /// the writer benchmark submits) must describe the same rows, or the comparison is unfair.
    @Test func sqlAndSwiftBenchmarkRowsAreIdentical() async throws {
        let cs = try await TestDatabase.migrated("benchrows")
        let rows = 3000
        let base: Int64 = 1_795_600_800_000_000
        var config = DatabaseConfig()
        config.spoolDir = TestDatabase.tempDir("bench-spool")
        let writer = try PairLogWriter(connectionString: cs, config: config)
        writer.start()
        for i in 0..<rows { writer.submit(PairLogBenchmark.record(i, baseMicros: base)) }
        await writer.shutdown()

        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let gen = try String(contentsOf: url.appendingPathComponent("Scripts/benchmarks/writer/bench_rows.sql"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: "\n")
            .replacing(":rows", with: String(rows)).replacing(":base", with: String(base))
        let jsonb: Set = ["legacy_output", "learner_output", "features"]
        let cols = PairCOPYFormat.columns
        let typed = cols.map { jsonb.contains($0) ? "\($0)::jsonb" : $0 }.joined(separator: ", ")
        let sql = """
            SELECT (SELECT count(*) FROM shadowgate.pairs),
                   (SELECT count(*) FROM (SELECT \(typed) FROM (\(gen)) AS g(\(cols.joined(separator: ", ")))
                                          EXCEPT SELECT \(cols.joined(separator: ", ")) FROM shadowgate.pairs) d)
            """
        let result = try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute(sql).rows[0]
        }
        #expect(result == [String(rows), "0"])
    }
}
