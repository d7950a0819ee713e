import Foundation
import LibPQ
import Logging
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGatePromotion

/// The pair writer alone, against a real server: the figure to compare with `psql \copy` of the
/// same rows (`Scripts/benchmarks/writer/bench_copy.sh` generates identical rows in SQL, see ``record(_:baseMicros:)``).
public enum PairLogBenchmark {
    /// Writes `rows` synthetic pairs (~600 bytes each, like the anchors' rows) through a
    /// ``PairLogWriter`` into `shadowgate.pairs` and times it from the first `submit` until every
    /// row is committed.
    ///
    /// - Empties `shadowgate.pairs` and the tables derived from it (`pair_stats`,
    ///   `pair_value_counts`, `rollup_watermarks`) first and afterwards: point it at a throwaway
    ///   database with the migrations applied.
    /// - Blocks the calling thread for the whole run (seconds); from async code, run it on a
    ///   thread of its own.
    /// - Submits as fast as the writer drains: when the queue is 40 % full it waits 100 µs, so the
    ///   writer neither drops nor spools because of the benchmark's burst (a real overload would
    ///   spool, which is measured elsewhere). The clock stops when the writer is idle and shut down.
    /// - Throws: ``PGError`` when the database cannot be reached or lacks the schema.
    public static func runWriterBenchmark(
        connectionString: String,
        rows: Int = 500_000,
        config: DatabaseConfig = DatabaseConfig(),
        firstRow: Int = 0,
        keepTables: Bool = false,
        logger: Logger = Logger(label: "shadowgate.bench-writer")
    ) throws -> PairLogBenchmarkResult {
        let admin = try PGConnection(connectionString: connectionString, applicationName: "shadowgate-bench")
        defer { admin.close() }
        // keepTables: several writers share the database (Scripts/scale-test.sh measures three at once).
        if !keepTables { try admin.execute(emptyTablesSQL) }
        _ = try? admin.execute("CHECKPOINT")
        try admin.execute("SELECT shadowgate.ensure_partitions(1)")

        let base = (Int64(Date().timeIntervalSince1970) / 3600) * 3600 * 1_000_000  // this hour, UTC
        let g0 = monotonicNanos()
        let records = (firstRow..<(firstRow + rows)).map { record($0, baseMicros: base) }
        let generateSeconds = Double(monotonicNanos() - g0) / 1e9
        var sizing = COPYTextEncoder()
        for r in records.prefix(1000) { PairCOPYFormat.append(r, to: &sizing) }

        var cfg = config
        let spoolDir = NSTemporaryDirectory() + "shadowgate-bench-spool-\(getpid())"
        cfg.spoolDir = spoolDir
        defer { try? FileManager.default.removeItem(atPath: spoolDir) }
        let writer = try PairLogWriter(connectionString: connectionString, config: cfg, logger: logger)
        writer.start()
        let limit = max(1, cfg.queueCapacity * 4 / 10 - 256)
        let t0 = monotonicNanos()
        for (i, r) in records.enumerated() {
            if i % 256 == 0 { while writer.queueDepth >= limit { usleep(100) } }
            writer.submit(r)
        }
        while !writer.isIdle { usleep(200) }
        writer.shutdownAndWait()
        let seconds = Double(monotonicNanos() - t0) / 1e9
        let inTable = Int(try admin.execute("SELECT count(*) FROM shadowgate.pairs").scalar ?? "0") ?? 0
        if !keepTables { try admin.execute(emptyTablesSQL) }
        return PairLogBenchmarkResult(
            rows: rows, rowsInTable: inTable, seconds: seconds,
            bytesPerRow: Double(sizing.bytes.count) / Double(max(1, sizing.rowCount)),
            generateSeconds: generateSeconds, statistics: writer.statistics)
    }

    /// TRUNCATE of pairs and of the tables its trigger fills (those that exist): a run starts
    /// from what a fresh database has, whatever ran before (`Scripts/benchmarks/writer/bench_copy.sh` does the same).
    static let emptyTablesSQL = """
        DO $$ BEGIN
            EXECUTE 'TRUNCATE ' || (SELECT string_agg(t, ', ') FROM unnest(ARRAY['shadowgate.pairs', 'shadowgate.pair_stats',
                'shadowgate.pair_value_counts', 'shadowgate.rollup_watermarks']) t WHERE to_regclass(t) IS NOT NULL);
        END $$
        """

    /// Row `i` of the benchmark data. `Scripts/benchmarks/writer/bench_copy.sh` builds the same values in SQL;
    /// change both together.
    public static func record(_ i: Int, baseMicros: Int64) -> PairRecord {
        let a = (i &* 7919) % 10_000
        let b = (i &* 104_729) % 10_000
        let failed = i % 1000 == 0
        let h = (UInt64(i) &* 2_654_435_761) % (1 << 48)
        let countries = ["DE", "FR", "NL", "PL", "IT"], devices = ["android", "ios", "web"]
        let segments = ["new", "returning", "vip"]
        let features = "{\"user_id\": \"u_\(pad((i &* 7919) % 10_000_000, 10))\", \"session_id\": \"s_\(hex(h, 12))\", "
            + "\"country\": \"\(countries[i % 5])\", \"device\": \"\(devices[i % 3])\", \"app_ver\": \"5.12.\(i % 20)\", "
            + "\"n_orders_30d\": \(i % 17), \"avg_basket_eur\": \(i % 120).\(pad(i % 100, 2)), "
            + "\"last_seen_s\": \((i &* 7919) % 864_000), \"segment\": \"\(segments[i % 3])\", \"score_prev\": 0.\(pad(b, 4))}"
        return PairRecord(
            requestID: "bench-\(i)", route: "/v1/models/m:predict", receivedAtMicros: baseMicros + Int64(i),
            servedBy: i % 10 == 0 ? .learner : .legacy, mode: .shadow, canaryPercent: 0,
            legacy: PredictionSide(
                status: 200, latencyMicros: Int64(2000 + (i &* 7919) % 8000), outcome: .ok,
                output: "{\"predictions\": [0.\(pad(a, 4))]}", score: Double(a) / 10_000, modelVersion: "v1"),
            learner: PredictionSide(
                status: failed ? 503 : 200, latencyMicros: Int64(2000 + (i &* 104_729) % 12_000),
                outcome: failed ? .httpError : .ok,
                output: failed ? nil : "{\"predictions\": [0.\(pad(b, 4))]}", score: failed ? nil : Double(b) / 10_000,
                modelVersion: "v2"),
            features: features)
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
