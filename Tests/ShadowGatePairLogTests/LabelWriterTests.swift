import Foundation
import LibPQ
import ShadowGateConfig
import ShadowGatePairLog
import ShadowGateTesting
import Testing

/// Labels through the pair-log writer: upserted on (request_id, row_index) with the latest label
/// winning, spooled while PostgreSQL is unreachable, and replayed idempotently.
@Suite struct LabelWriterTests {
    func config(spoolDir: String) -> DatabaseConfig {
        var c = DatabaseConfig()
        c.batchRows = 100
        c.flushMillis = 10
        c.spoolDir = spoolDir
        return c
    }

    func label(_ id: String, row: Int = 0, _ text: String, at micros: Int64) -> LabelRecord {
        LabelRecord(requestID: id, rowIndex: row, route: "r", label: text, receivedAtMicros: 1_700_000_000_000_000 + micros)
    }

    func labels(_ cs: String) async throws -> [[String?]] {
        try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("SELECT request_id, row_index::text, label, label_value FROM shadowgate.labels ORDER BY 1, 2").rows
        }
    }

    @Test func spooledLabelsAreReplayedOnceAndTheLatestLabelWins() async throws {
        let cs = try await TestDatabase.migrated("labels-spool")
        let dir = TestDatabase.tempDir("labels-spool")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // PostgreSQL unreachable: every label goes to the labels spool.
        let down = try PairLogWriter(connectionString: "host=127.0.0.1 port=1 connect_timeout=2", config: config(spoolDir: dir))
        down.start()
        for l in [label("a", "1", at: 100), label("a", "0", at: 200),   // same key: the later one wins
                  label("b", row: 2, "x", at: 150), label("b", row: 0, "y", at: 150),
                  label("c", "old", at: 100)] {
            #expect(down.submit(label: l))
        }
        await down.shutdown()
        #expect(down.statistics.labels.spooled == 5)
        #expect(down.statistics.pairs.spooled == 0)  // pair counters untouched
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".spool") }
        #expect(files.count == 1 && files[0].hasPrefix("labels-"))
        let copy = TestDatabase.tempDir("labels-spool-copy")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: "\(dir)/\(files[0])", toPath: "\(copy)/\(files[0])")

        // Meanwhile a newer label for c reached PostgreSQL directly.
        let live = try PairLogWriter(connectionString: cs, config: config(spoolDir: TestDatabase.tempDir("labels-live")))
        live.start()
        #expect(live.submit(label: label("c", "new", at: 300)))
        await live.shutdown()
        #expect(live.statistics.labels.written == 1)

        // Back up: the spool is replayed and removed; c keeps its newer label.
        let up = try PairLogWriter(connectionString: cs, config: config(spoolDir: dir))
        up.start()
        #expect(await eventually { up.isIdle })
        await up.shutdown()
        #expect(up.statistics.labels.replayed == 5)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".spool") }.isEmpty)
        let expected: [[String?]] = [["a", "0", "0", "0"], ["b", "0", "y", nil], ["b", "2", "x", nil], ["c", "0", "new", nil]]
        #expect(try await labels(cs) == expected)

        // The same spool replayed a second time (a crash before its file was deleted) changes nothing.
        let again = try PairLogWriter(connectionString: cs, config: config(spoolDir: copy))
        again.start()
        #expect(await eventually { again.isIdle })
        await again.shutdown()
        #expect(again.statistics.labels.replayed == 5)
        #expect(try await labels(cs) == expected)
    }

    @Test func aLaterLabelReplacesTheStoredOneAndALabelOfAnotherRowIsKept() async throws {
        let cs = try await TestDatabase.migrated("labels-upsert")
        let writer = try PairLogWriter(connectionString: cs, config: config(spoolDir: TestDatabase.tempDir("labels-upsert")))
        writer.start()
        #expect(writer.submit(label: label("q", "1", at: 1)))
        #expect(await eventually { writer.isIdle })
        #expect(writer.submit(label: label("q", "0.25", at: 2)))
        #expect(writer.submit(label: label("q", row: 3, "7", at: 2)))
        await writer.shutdown()
        #expect(try await labels(cs) == [["q", "0", "0.25", "0.25"], ["q", "3", "7", "7"]])
        #expect(writer.statistics.labels.written == 3 && writer.statistics.labels.dropped == 0)
    }
}
