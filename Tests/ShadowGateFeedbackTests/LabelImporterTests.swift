@testable import ShadowGateFeedback
import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// `labels import`'s write path against a real PostgreSQL: the fast insert of new keys, the
/// update of changed ones only, the last line per key, label_value without the trigger, and the
/// fall-back upsert when a chunk races with another writer.
@Suite struct LabelImporterTests {
    func rows(_ c: PGConnection) throws -> [String] {
        try c.execute("SELECT request_id || '|' || row_index || '|' || label || '|' || coalesce(label_value::text, 'null') || '|' || seq FROM shadowgate.labels ORDER BY request_id, row_index")
            .rows.map { $0[0] ?? "" }
    }

    func csv(_ text: String, _ c: PGConnection) throws -> LabelImporter.Summary {
        try LabelImporter().run(bytes: Array(text.utf8), format: .csv, connection: c)
    }

    @Test func newKeysChangedKeysAndTheLastLinePerKey() async throws {
        try await onThread {
            let c = try PGConnection(connectionString: try TestPostgres.migrated("labimp"))
            defer { c.close() }
            let first = try csv("request_id,index,label\na,0,1\nb,0,cat\nb,1,2.5e1\nc,0,x\nc,0,7\n", c)
            #expect(first.labels == 5 && first.written == 4)
            let before = try rows(c)
            #expect(before.map { $0.split(separator: "|").dropLast().joined(separator: "|") } == [
                "a|0|1|1", "b|0|cat|null", "b|1|2.5e1|25", "c|0|7|7",
            ])
            // Same value again: not rewritten (keeps its place in the delivery order); another value
            // replaces it with a new place; a new key is inserted beside them.
            let second = try csv("a,0,1\nb,0,dog\nd,0,0\n", c)
            #expect(second.written == 2)
            let after = try rows(c)
            #expect(after[0] == before[0])
            #expect(after[1].hasPrefix("b|0|dog|null|") && after[1] != before[1])
            #expect(after[2] == before[2] && after[3] == before[3])
            #expect(after[4].hasPrefix("d|0|0|0|"))
            let seqB = Int(after[1].split(separator: "|").last!)!, seqA = Int(after[0].split(separator: "|").last!)!
            #expect(seqB > seqA)
        }
    }

    @Test func reImportOfChangedLabelsAcrossChunksStraightCopyThenStaged() async throws {
        try await onThread {
            let c = try PGConnection(connectionString: try TestPostgres.migrated("labimpchunks"))
            defer { c.close() }
            let importer = LabelImporter(chunkRows: 2)
            // All new: every chunk is COPied straight into the table.
            let first = try importer.run(bytes: Array("k1,0,1\nk2,0,0\nk3,0,cat\nk4,0,1\nk5,0,0\n".utf8), format: .csv, connection: c)
            #expect(first.written == 5)
            let before = try rows(c)
            #expect(before.map { $0.split(separator: "|").prefix(4).joined(separator: "|") } == [
                "k1|0|1|1", "k2|0|0|0", "k3|0|cat|null", "k4|0|1|1", "k5|0|0|0",
            ])
            // Chunk 1 (k6, k7) is new: straight COPY. Chunk 2 meets k2 (stored): it is rolled back and
            // staged, and so is chunk 3 — changed values replaced with a new place in the delivery
            // order, unchanged ones left as they were, new keys inserted.
            let second = try importer.run(bytes: Array("k6,0,1\nk7,0,1\nk2,0,1\nk3,0,cat\nk4,0,dog\nk8,0,0\n".utf8), format: .csv, connection: c)
            #expect(second.labels == 6 && second.written == 5)
            let after = try rows(c)
            #expect(after.map { $0.split(separator: "|").prefix(4).joined(separator: "|") } == [
                "k1|0|1|1", "k2|0|1|1", "k3|0|cat|null", "k4|0|dog|null", "k5|0|0|0", "k6|0|1|1", "k7|0|1|1", "k8|0|0|0",
            ])
            #expect(after[0] == before[0] && after[2] == before[2] && after[4] == before[4])
            let seq = { (row: String) in Int64(row.split(separator: "|").last!)! }
            #expect(seq(after[1]) > seq(before[4]) && seq(after[3]) > seq(before[4]))
            // The same file again changes nothing.
            let third = try importer.run(bytes: Array("k6,0,1\nk7,0,1\nk2,0,1\nk3,0,cat\nk4,0,dog\nk8,0,0\n".utf8), format: .csv, connection: c)
            #expect(third.written == 0)
            #expect(try rows(c) == after)
        }
    }

    @Test func aChunkRacingAnotherWriterFallsBackToTheUpsert() async throws {
        try await onThread {
            let url = try TestPostgres.migrated("labimprace")
            let c = try PGConnection(connectionString: url)
            defer { c.close() }
            try c.execute(LabelImporter.stageSQL)
            try c.execute("BEGIN")
            try c.copyIn(LabelImporter.copySQL) { send in
                try Array("r1\t0\t1\t1\nr2\t0\t0\t0\n".utf8).withUnsafeBytes { try send($0) }
            }
            // The fast path's own statement while another writer holds an uncommitted row for one
            // of the keys: it waits for that writer and, once it commits, fails with a unique
            // violation — the race `run` answers by writing the chunk again with the upsert.
            let other = try PGConnection(connectionString: url)
            defer { other.close() }
            try other.execute("BEGIN")
            try other.execute("INSERT INTO shadowgate.labels (request_id, row_index, label) VALUES ('r2', 0, '1')")
            let committer = Thread {
                Thread.sleep(forTimeInterval: 0.5)
                _ = try? other.execute("COMMIT")
            }
            committer.start()
            var raced = false
            do { try c.execute(LabelImporter.insertNewSQL) } catch let e as PGError { raced = e.isUniqueViolation }
            try c.execute("ROLLBACK")
            #expect(raced)
            // … and the upsert of the same chunk stores both, replacing the other writer's value.
            try c.execute("BEGIN")
            try c.copyIn(LabelImporter.copySQL) { send in
                try Array("r1\t0\t1\t1\nr2\t0\t0\t0\n".utf8).withUnsafeBytes { try send($0) }
            }
            #expect(try c.execute(LabelImporter.upsertSQL).affectedRows == 2)
            try c.execute("COMMIT")
            #expect(try rows(c).map { $0.split(separator: "|").prefix(4).joined(separator: "|") } == ["r1|0|1|1", "r2|0|0|0"])
        }
    }

    @Test func plainSQLInsertsStillGetTheirValueFromTheTrigger() async throws {
        try await onThread {
            let c = try PGConnection(connectionString: try TestPostgres.migrated("labimpsql"))
            defer { c.close() }
            try c.execute("INSERT INTO shadowgate.labels (request_id, label) VALUES ('p', ' -1.5 '), ('q', '12'), ('s', 'yes')")
            try c.execute("UPDATE shadowgate.labels SET label = '3', label_value = NULL WHERE request_id = 's'")
            #expect(try rows(c).map { $0.split(separator: "|").prefix(4).joined(separator: "|") } == ["p|0| -1.5 |-1.5", "q|0|12|12", "s|0|3|3"])
        }
    }
}

@Suite struct LabelValueTests {
    /// The grammar of shadowgate.parse_float(): `[+-]?(d+[.d*] | .d+)([eE][+-]?d+)?` after trimming spaces.
    @Test func numbersExactlyWhereParseFloatGivesOne() {
        let numbers: [(String, Double)] = [("0", 0), ("1", 1), ("007", 7), (" 2.5 ", 2.5), ("-3", -3), ("+4.", 4), (".5", 0.5),
                                           ("1e3", 1000), ("1E-2", 0.01), ("-.25e+1", -2.5)]
        for (text, value) in numbers { #expect(LabelValue.parse(text) == value, "\(text)") }
        for text in ["", " ", ".", "e3", "1e", "1e+", "0x10", "inf", "NaN", "1,5", "1 2", "\t1", "--1", "1.2.3", "cat", "1e400"] {
            #expect(LabelValue.parse(text) == nil, "\(text)")
        }
    }

    @Test func lastLinePerKeyKeepsFileOrder() {
        let labels = [("a", 0, "1"), ("b", 0, "2"), ("a", 0, "3"), ("a", 1, "4")].map {
            LabelFileParser.Label(requestID: $0.0, rowIndex: $0.1, label: $0.2)
        }
        #expect(LabelImporter.lastPerKey(labels).map(\.label) == ["2", "3", "4"])
    }
}
