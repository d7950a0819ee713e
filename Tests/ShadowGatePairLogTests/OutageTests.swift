import Foundation
import LibPQ
import ShadowGateConfig
import ShadowGatePairLog
import ShadowGateTesting
import Synchronization
import Testing

/// PostgreSQL goes away under steady traffic and comes back: every pair and every label must end
/// up in its table exactly once (for labels: the last one per request and row). Uses a private
/// embedded cluster, because it stops the server.
@Suite struct OutageTests {
    @Test(.timeLimit(.minutes(2)))
    func postgresStoppedUnderTrafficLosesNothing() async throws {
        let dir = TestDatabase.tempDir("outage-pg")
        let pg = try EmbeddedPostgres(dataDirectory: dir, durable: false)
        defer {
            try? pg.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let cs = try await onThread { try pg.start() }
        try await onThread { try MigrationRunner(directory: TestDatabase.migrationsDirectory).migrate(connectionString: cs) }

        var config = DatabaseConfig()
        config.batchRows = 500
        config.flushMillis = 10
        config.spoolDir = TestDatabase.tempDir("outage-spool")
        let writer = try PairLogWriter(connectionString: cs, config: config)
        writer.start()

        // Steady traffic (~5k pairs/s) from a thread of its own.
        let stop = Atomic<Bool>(false)
        let accepted = Atomic<Int>(0)
        let labelled = Atomic<Int>(0)
        let traffic = Thread {
            var rng = SeededGenerator(seed: 21)
            let run = UUID().uuidString
            var i = 0
            while !stop.load(ordering: .relaxed) {
                for _ in 0..<50 {
                    let record = PairRecordFactory.record(i, run: run, rng: &rng)
                    if writer.submit(record) {
                        accepted.add(1, ordering: .relaxed)
                        // Every 10th pair gets a label for row 0 twice (the second wins) and one for row 1.
                        if i % 10 == 0 {
                            let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
                            for (row, label, at) in [(0, "first", micros), (0, "second", micros + 1), (1, "row1", micros)] {
                                writer.submit(label: LabelRecord(requestID: record.requestID, rowIndex: row, route: record.route,
                                                                 label: label, receivedAtMicros: at))  // a refusal is counted in s.labels.dropped
                            }
                            labelled.add(1, ordering: .relaxed)
                        }
                    }
                    i += 1
                }
                usleep(10_000)
            }
        }
        traffic.start()

        try await Task.sleep(for: .seconds(1))
        try await onThread { try pg.stop() }
        try await Task.sleep(for: .seconds(2))
        let spooledWhileDown = writer.statistics.pairs.spooled
        try await onThread { _ = try pg.start() }
        try await Task.sleep(for: .seconds(1))
        stop.store(true, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(50))

        let idle = await eventually(timeout: .seconds(60)) { writer.isIdle }
        #expect(idle, "writer not idle: \(writer.statistics)")
        await writer.shutdown()
        let sent = accepted.load(ordering: .relaxed)
        let withLabels = labelled.load(ordering: .relaxed)
        let rows = try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("SELECT count(*), count(DISTINCT request_id) FROM shadowgate.pairs").rows[0]
                + c.execute("SELECT count(*), count(DISTINCT request_id) FROM shadowgate.pair_stats").rows[0]
        }
        let labels = try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("""
                SELECT count(*) FILTER (WHERE row_index = 0), count(*) FILTER (WHERE row_index = 0 AND label = 'second'),
                       count(*) FILTER (WHERE row_index = 1 AND label = 'row1'), count(*)
                FROM shadowgate.labels
                """).rows[0]
        }
        let s = writer.statistics
        #expect(spooledWhileDown > 0)
        #expect(s.pairs.dropped == 0 && s.labels.dropped == 0)
        #expect(s.labels.spooled > 0, "no label went through the spool: \(s.labels)")
        #expect(labels == Array(repeating: "\(withLabels)", count: 3) + ["\(2 * withLabels)"], "labels \(s.labels)")
        #expect(rows == ["\(sent)", "\(sent)", "\(sent)", "\(sent)"], "sent \(sent), stats \(s) (pairs, then pair_stats)")
        try? FileManager.default.removeItem(atPath: config.spoolDir)
    }
}
