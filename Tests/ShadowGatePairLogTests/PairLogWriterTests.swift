import Foundation
import LibPQ
import ShadowGateConfig
import ShadowGatePairLog
import ShadowGateTesting
import Testing

@Suite struct PairLogWriterTests {
    func config(batchRows: Int = 1000, flushMillis: Int = 20, spoolDir: String = TestDatabase.tempDir("spool")) -> DatabaseConfig {
        var c = DatabaseConfig()
        c.batchRows = batchRows
        c.flushMillis = flushMillis
        c.spoolDir = spoolDir
        return c
    }

    func count(_ cs: String, _ sql: String = "SELECT count(*), count(DISTINCT request_id) FROM shadowgate.pairs") async throws -> [String?] {
        try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute(sql).rows[0]
        }
    }

    /// Rows of `pair_stats`, distinct request ids there, and how many of its rows equal their
    /// pair's statistics columns: all three equal the pair count when the trigger kept them in step.
    static let pairStatsMirrorSQL = """
        SELECT count(*), count(DISTINCT s.request_id),
               count(*) FILTER (WHERE (s.route, s.legacy_outcome, s.learner_outcome, s.legacy_score, s.learner_score,
                                       s.legacy_label, s.learner_label, s.legacy_latency_us, s.learner_latency_us)
                                      IS NOT DISTINCT FROM
                                      (p.route, p.legacy_outcome, p.learner_outcome, p.legacy_score, p.learner_score,
                                       p.legacy_label, p.learner_label, p.legacy_latency_us, p.learner_latency_us))
        FROM shadowgate.pair_stats s LEFT JOIN shadowgate.pairs p USING (request_id, received_at)
        """

    @Test func nRecordsGiveExactlyNRowsWithTheRightFields() async throws {
        let cs = try await TestDatabase.migrated("w")
        let writer = try PairLogWriter(connectionString: cs, config: config())
        writer.start()
        let n = 20_000
        var rng = SeededGenerator(seed: 7)
        let run = UUID().uuidString
        let records = (0..<n).map { PairRecordFactory.record($0, run: run, rng: &rng) }
        for r in records { #expect(writer.submit(r)) }
        #expect(await eventually { writer.isIdle })
        await writer.shutdown()
        #expect(try await count(cs) == ["\(n)", "\(n)"])
        let s = writer.statistics
        #expect(s.pairs.queued == n && s.pairs.written == n && s.pairs.dropped == 0 && s.pairs.spooled == 0)

        for i in [0, 5, 7, 10, 11, 13, 14_999] {
            let r = records[i]
            let row = try await onThread {
                let c = try PGConnection(connectionString: cs)
                defer { c.close() }
                return try c.execute("""
                    SELECT request_id, route, (extract(epoch FROM received_at) * 1000000)::bigint, served_by, mode,
                           canary_percent, legacy_status, learner_status, legacy_latency_us, learner_latency_us,
                           legacy_outcome, learner_outcome, legacy_error, learner_error,
                           legacy_output IS NOT DISTINCT FROM $2::jsonb, learner_output IS NOT DISTINCT FROM $3::jsonb,
                           legacy_score, learner_score, legacy_label, learner_label, legacy_version, learner_version,
                           shadow_skip, features IS NOT DISTINCT FROM $4::jsonb, features_truncated
                    FROM shadowgate.pairs WHERE request_id = $1
                    """, [r.requestID, r.legacy.output, r.learner.output, r.features]).rows
            }
            #expect(row.count == 1)
            func d(_ v: Double?) -> String? { v.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : String($0) } }
            let expected: [String?] = [
                r.requestID, r.route, String(r.receivedAtMicros), r.servedBy.rawValue, r.mode.rawValue,
                d(r.canaryPercent), r.legacy.status.map(String.init), r.learner.status.map(String.init),
                r.legacy.latencyMicros.map(String.init), r.learner.latencyMicros.map(String.init),
                r.legacy.outcome.rawValue, r.learner.outcome.rawValue, r.legacy.error, r.learner.error,
                "t", "t", d(r.legacy.score), d(r.learner.score), r.legacy.label, r.learner.label,
                r.legacy.modelVersion, r.learner.modelVersion, r.shadowSkip?.rawValue, "t", r.featuresTruncated ? "t" : "f",
            ]
            #expect(row.first == expected, "record \(i)")
        }
    }

    @Test func duplicatesAreWrittenOnce() async throws {
        let cs = try await TestDatabase.migrated("dup")
        let writer = try PairLogWriter(connectionString: cs, config: config(batchRows: 500))
        writer.start()
        var rng = SeededGenerator(seed: 11)
        let records = (0..<2000).map { PairRecordFactory.record($0, rng: &rng) }
        for r in records { writer.submit(r) }
        #expect(await eventually { writer.isIdle })
        for r in records.reversed() { writer.submit(r) }   // replay of everything, e.g. by a retrying client
        for r in records.prefix(10) { writer.submit(r) }
        await writer.shutdown()
        #expect(try await count(cs) == ["2000", "2000"])
        #expect(try await count(cs, Self.pairStatsMirrorSQL) == ["2000", "2000", "2000"])
        let s = writer.statistics
        #expect(s.pairs.queued == 4010 && s.pairs.written == 2000 && s.pairs.dropped == 0)
    }

    @Test func shutdownFlushesEverythingQueued() async throws {
        let cs = try await TestDatabase.migrated("shut")
        // A batch size and flush interval that never trigger: only shutdown writes.
        let writer = try PairLogWriter(connectionString: cs, config: config(batchRows: 50_000, flushMillis: 600_000))
        writer.start()
        var rng = SeededGenerator(seed: 3)
        for i in 0..<30_000 { #expect(writer.submit(PairRecordFactory.record(i, rng: &rng))) }
        await writer.shutdown()
        #expect(try await count(cs) == ["30000", "30000"])
        #expect(writer.submit(PairRecordFactory.record(0, rng: &rng)) == false)  // stopped: refused and counted
        #expect(writer.statistics.pairs.droppedQueueFull == 1)
    }

    @Test func aFullQueueRefusesAndCounts() async throws {
        var c = config(batchRows: 10)
        c.queueCapacity = 100
        // Not started: nothing drains the queue.
        let writer = try PairLogWriter(connectionString: "host=127.0.0.1 port=1", config: c)
        var rng = SeededGenerator(seed: 5)
        let accepted = (0..<150).filter { writer.submit(PairRecordFactory.record($0, rng: &rng)) }.count
        #expect(accepted == 100)
        #expect(writer.statistics.pairs.droppedQueueFull == 50)
        #expect(writer.statistics.queueDepth == 100)
        await writer.shutdown()  // spools the 100 (the database is unreachable)
        #expect(writer.statistics.pairs.spooled == 100)
        try? FileManager.default.removeItem(atPath: c.spoolDir)
    }

    @Test func rowsPostgresRejectsAreDroppedAloneAndCounted() async throws {
        let cs = try await TestDatabase.migrated("bad")
        let writer = try PairLogWriter(connectionString: cs, config: config(batchRows: 100, flushMillis: 5))
        writer.start()
        var rng = SeededGenerator(seed: 9)
        for i in 0..<100 {
            var r = PairRecordFactory.record(i, rng: &rng)
            if i == 37 { r.legacy.output = "{not json" }
            if i == 80 { r.features = "{\"nul\": \"\\u0000\"}" }   // valid JSON that jsonb cannot store
            writer.submit(r)
        }
        await writer.shutdown()
        #expect(try await count(cs) == ["98", "98"])
        #expect(writer.statistics.pairs.rejected == 2)
        #expect(writer.statistics.pairs.written == 98)
    }

    @Test func spoolLeftByAnEarlierRunIsReplayedAndRemoved() async throws {
        let cs = try await TestDatabase.migrated("spool")
        let dir = TestDatabase.tempDir("spool-restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededGenerator(seed: 13)
        let records = (0..<1500).map { PairRecordFactory.record($0, rng: &rng) }

        // First run: PostgreSQL unreachable, everything goes to the spool.
        let down = try PairLogWriter(connectionString: "host=127.0.0.1 port=1 connect_timeout=2", config: config(batchRows: 200, spoolDir: dir))
        down.start()
        for r in records { #expect(down.submit(r)) }
        await down.shutdown()
        #expect(down.statistics.pairs.spooled == 1500)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasSuffix(".spool") })

        // Some of those rows already made it (as if the connection broke after a commit).
        let pre = try PairLogWriter(connectionString: cs, config: config(spoolDir: TestDatabase.tempDir("spool-pre")))
        for r in records.prefix(100) { pre.submit(r) }
        await pre.shutdown()

        // Second run: replays the spool idempotently and deletes it.
        let up = try PairLogWriter(connectionString: cs, config: config(batchRows: 200, spoolDir: dir))
        up.start()
        #expect(await eventually { up.isIdle })
        await up.shutdown()
        #expect(try await count(cs) == ["1500", "1500"])
        #expect(try await count(cs, Self.pairStatsMirrorSQL) == ["1500", "1500", "1500"])  // replayed rows once, too
        #expect(up.statistics.pairs.replayed == 1500)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".spool") }.isEmpty)
    }
}

@Suite struct PairLogWriterSchemaTests {
    /// Started before `shadowgate migrate` ran: pairs are spooled, and written once the schema exists.
    @Test func pairsWaitInTheSpoolUntilTheSchemaExists() async throws {
        let cs = try await TestDatabase.fresh("noschema")
        var config = DatabaseConfig()
        config.batchRows = 100
        config.flushMillis = 10
        config.spoolDir = TestDatabase.tempDir("noschema-spool")
        let writer = try PairLogWriter(connectionString: cs, config: config)
        writer.start()
        var rng = SeededGenerator(seed: 41)
        for i in 0..<500 { #expect(writer.submit(PairRecordFactory.record(i, rng: &rng))) }
        #expect(await eventually(timeout: .seconds(10)) { writer.statistics.pairs.spooled == 500 })
        try await onThread { try MigrationRunner(directory: TestDatabase.migrationsDirectory).migrate(connectionString: cs) }
        #expect(await eventually(timeout: .seconds(20)) { writer.isIdle })
        await writer.shutdown()
        let rows = try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("SELECT count(*), count(DISTINCT request_id) FROM shadowgate.pairs").rows[0]
        }
        #expect(rows == ["500", "500"])
        #expect(writer.statistics.pairs.dropped == 0)
    }
}

@Suite struct PairLogWriterLatencyTests {
    /// A lone record on an idle writer is written within about `flushMillis`, not when the next
    /// batch fills up or at shutdown.
    @Test func aSingleRecordIsFlushedPromptly() async throws {
        let cs = try await TestDatabase.migrated("lat")
        var config = DatabaseConfig()
        config.flushMillis = 20
        config.spoolDir = TestDatabase.tempDir("lat-spool")
        let writer = try PairLogWriter(connectionString: cs, config: config)
        writer.start()
        #expect(await eventually(timeout: .seconds(5)) { writer.statistics.connected })
        try await Task.sleep(for: .milliseconds(200))  // encoder and database thread asleep
        var rng = SeededGenerator(seed: 51)
        for round in 0..<3 {
            writer.submit(PairRecordFactory.record(round, rng: &rng))
            // Nothing but the flush timer can write a lone record (the batch is 5,000 rows), so
            // seeing it written proves the timer; how soon is the benchmark's business.
            #expect(await eventually(timeout: .seconds(10)) { writer.statistics.pairs.written == round + 1 }, "round \(round)")
            try await Task.sleep(for: .milliseconds(300))
        }
        await writer.shutdown()
    }
}
